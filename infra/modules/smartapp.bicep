import { ehr, signingKeyNames } from 'types.bicep'

// The SMART on FHIR app (Razor Pages) on the shared Linux plan, with a system-assigned identity that may sign
// with its own three keys and nothing else: it holds no storage role (all data goes through the functions API).

@description('Azure region of the resources.')
param location string

@description('Tags put on every resource (the azd service tag is added here).')
param tags object

@description('Web app name (also its default host name).')
param name string

@description('The Linux App Service plan it runs on.')
param planId string

@description('Log Analytics workspace that receives its logs.')
param workspaceId string

@description('Application Insights component its telemetry goes to.')
param appInsightsName string

@description('Key Vault holding its signing keys.')
param vaultName string

@description('Names of the signing keys.')
param keyNames signingKeyNames

@description('The functions app\'s https URL.')
param functionsUrl string

@description('The aud of the tokens it signs for the functions API (the functions app\'s Auth__Audience).')
param functionsAudience string

@description('EHRs allowed to launch the app.')
param ehrs ehr[]

@description('The app\'s own public https URL (App__BaseUrl: redirect URI, JWKS URL, iss of its API tokens).')
param baseUrl string

// Configuration binds arrays from numbered keys: Ehrs__0__Iss, Ehrs__0__ClientId, ...
var ehrSettings = flatten(map(range(0, length(ehrs)), i => [
  {
    name: 'Ehrs__${i}__Name'
    value: ehrs[i].name
  }
  {
    name: 'Ehrs__${i}__Iss'
    value: ehrs[i].iss
  }
  {
    name: 'Ehrs__${i}__ClientId'
    value: ehrs[i].clientId
  }
  {
    name: 'Ehrs__${i}__Scopes'
    value: ehrs[i].scopes
  }
  {
    name: 'Ehrs__${i}__AcceptsWrites'
    value: string(ehrs[i].acceptsWrites)
  }
  // Only when set: an empty value would be read as an issuer.
  ...(empty(ehrs[i].?openIdIssuer ?? '')
    ? []
    : [
        {
          name: 'Ehrs__${i}__OpenIdIssuer'
          value: ehrs[i].?openIdIssuer ?? ''
        }
      ])
]))

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' existing = {
  name: vaultName
}

resource clientRsaKey 'Microsoft.KeyVault/vaults/keys@2026-02-01' existing = {
  parent: vault
  name: keyNames.smartAppClientRsa
}

resource clientEcKey 'Microsoft.KeyVault/vaults/keys@2026-02-01' existing = {
  parent: vault
  name: keyNames.smartAppClientEc
}

resource apiSigningKey 'Microsoft.KeyVault/vaults/keys@2026-02-01' existing = {
  parent: vault
  name: keyNames.smartAppApiSigning
}

resource smartApp 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'smart-app'
  })
  kind: 'app,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: planId
    // reserved = Linux.
    reserved: true
    httpsOnly: true
    // Sessions live server-side behind an opaque cookie (DESIGN.md §6): no instance affinity needed.
    clientAffinityEnabled: false
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      linuxFxVersion: 'DOTNETCORE|10.0'
      alwaysOn: true
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      use32BitWorkerProcess: false
      appSettings: concat(
        [
          {
            name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
            value: appInsights.properties.ConnectionString
          }
          {
            name: 'App__BaseUrl'
            value: baseUrl
          }
          {
            name: 'Functions__BaseUrl'
            value: functionsUrl
          }
          {
            name: 'Functions__Audience'
            value: functionsAudience
          }
          {
            name: 'KeyVault__Uri'
            value: vault.properties.vaultUri
          }
          {
            name: 'KeyVault__Keys__ClientRs384'
            value: keyNames.smartAppClientRsa
          }
          {
            name: 'KeyVault__Keys__ClientEs384'
            value: keyNames.smartAppClientEc
          }
          {
            name: 'KeyVault__Keys__ApiSigning'
            value: keyNames.smartAppApiSigning
          }
        ],
        ehrSettings
      )
    }
  }
}

// azd deploys with the deploying user's Microsoft Entra token: FTP and Kudu basic authentication stay off.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: smartApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: smartApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// Sign with its own keys only: one Key Vault Crypto User assignment per key, scoped to the key, not to the vault.

// Signs its RS384 client assertions to EHRs.
resource clientRsaKeyUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(clientRsaKey.id, smartApp.id, '12338af0-0e69-4776-bea7-57ae8d297424')
  scope: clientRsaKey
  properties: {
    // Key Vault Crypto User
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '12338af0-0e69-4776-bea7-57ae8d297424')
    principalId: smartApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Signs its ES384 client assertions to EHRs.
resource clientEcKeyUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(clientEcKey.id, smartApp.id, '12338af0-0e69-4776-bea7-57ae8d297424')
  scope: clientEcKey
  properties: {
    // Key Vault Crypto User
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '12338af0-0e69-4776-bea7-57ae8d297424')
    principalId: smartApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Signs the per-call physician tokens for the functions API.
resource apiSigningKeyUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(apiSigningKey.id, smartApp.id, '12338af0-0e69-4776-bea7-57ae8d297424')
  scope: apiSigningKey
  properties: {
    // Key Vault Crypto User
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '12338af0-0e69-4776-bea7-57ae8d297424')
    principalId: smartApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: smartApp
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
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

output name string = smartApp.name
output principalId string = smartApp.identity.principalId
