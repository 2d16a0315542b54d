import { signingKeyNames } from 'types.bicep'

// Key Vault holds the product's signing keys. The private halves never leave the vault: the apps ask it to sign
// (Key Vault Crypto User on their own keys only) and publish the public halves in their JWKS.

@description('Azure region of the resources.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Key Vault name (3-24 letters, digits and hyphens).')
@minLength(3)
@maxLength(24)
param name string

@description('standard keeps keys in software; premium keeps them in HSMs (RSA-HSM / EC-HSM).')
@allowed([
  'standard'
  'premium'
])
param skuName string

@description('Whether the vault answers on its public endpoint. The apps are not in a virtual network, so Disabled needs private endpoints and VNet integration first.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Log Analytics workspace that receives the audit log.')
param workspaceId string

@description('Key names: the smart-app\'s client assertion keys (RS384, ES384), the key that signs its tokens for the functions API, and the functions app\'s SMART Backend Services key.')
param keyNames signingKeyNames

@description('A CanNotDelete lock on the vault: the signing keys every EHR registration trusts are not deleted by mistake.')
param lockAgainstDeletion bool

@description('When this deployment runs; the first version of each key expires one key lifetime after it.')
param now string = utcNow()

@description('How long each key version is valid (ISO 8601 duration).')
param keyLifetime string = 'P1Y'

@description('How long before a version expires Key Vault creates the next one; the old one stays valid until it expires, so both are published meanwhile.')
param rotateBeforeExpiry string = 'P30D'

var hsm = skuName == 'premium'

// Key Vault starts rotating only once a version has an expiry: the first version gets one explicitly, later ones
// from the rotation policy. A near-expiry event is also raised (Event Grid) in case rotation ever fails.
var rotationPolicy = {
  attributes: {
    expiryTime: keyLifetime
  }
  lifetimeActions: [
    {
      trigger: {
        timeBeforeExpiry: rotateBeforeExpiry
      }
      action: {
        type: 'rotate'
      }
    }
    {
      trigger: {
        timeBeforeExpiry: 'P7D'
      }
      action: {
        type: 'notify'
      }
    }
  ]
}

var firstExpiry = dateTimeToEpoch(dateTimeAdd(now, keyLifetime))

// RS384 needs an RSA key (3072 bits: NIST SP 800-57 keeps 2048-bit RSA only until 2030), ES384 an EC P-384 key.
// Two resources rather than one, so that no key is sent a property of the other kind.
var rsaKeys = [
  keyNames.smartAppClientRsa
  keyNames.functionsBackendServices
]

var ecKeys = [
  keyNames.smartAppClientEc
  keyNames.smartAppApiSigning
]

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: skuName
    }
    // Azure RBAC, not access policies, so access can be granted per key and audited like every other role.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // A deleted vault or key cannot be purged before its retention ends, not even by an administrator.
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
      bypass: 'AzureServices'
    }
  }
}

// ARM creates a key only when it does not exist yet: a redeployment never replaces a key or adds a version.
resource rsaSigningKeys 'Microsoft.KeyVault/vaults/keys@2026-02-01' = [
  for keyName in rsaKeys: {
    parent: vault
    name: keyName
    tags: tags
    properties: {
      kty: hsm ? 'RSA-HSM' : 'RSA'
      keySize: 3072
      keyOps: [
        'sign'
        'verify'
      ]
      attributes: {
        enabled: true
        exportable: false
        exp: firstExpiry
      }
      rotationPolicy: rotationPolicy
    }
  }
]

resource ecSigningKeys 'Microsoft.KeyVault/vaults/keys@2026-02-01' = [
  for keyName in ecKeys: {
    parent: vault
    name: keyName
    tags: tags
    properties: {
      kty: hsm ? 'EC-HSM' : 'EC'
      curveName: 'P-384'
      keyOps: [
        'sign'
        'verify'
      ]
      attributes: {
        enabled: true
        exportable: false
        exp: firstExpiry
      }
      rotationPolicy: rotationPolicy
    }
  }
]

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

resource deleteLock 'Microsoft.Authorization/locks@2020-05-01' = if (lockAgainstDeletion) {
  name: 'keep-signing-keys'
  scope: vault
  properties: {
    level: 'CanNotDelete'
    notes: 'Holds the signing keys EHRs trust (their JWKS registrations) and the secrets the apps read.'
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
