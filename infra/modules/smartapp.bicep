import { ehr, signingKeyNames } from 'types.bicep'

// The SMART on FHIR app (Razor Pages) on the shared Linux plan, with a system-assigned identity that may sign
// with its own three keys and read the vault's secrets (the inbox's client secret, the Redis configuration) and nothing else: it holds no
// storage role (all data goes through the functions API).

@description('Azure region of the resources.')
param location string

@description('Tags put on every resource (the azd service tag is added here).')
param tags object

@description('Web app name (also its default host name).')
param name string

@description('The Linux App Service plan it runs on.')
param planId string

@description('The subnet the app is integrated into (modules/network.bicep): storage, the vault and Redis are reached through it.')
param subnetId string

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

@description('The therapists\' OpenID Connect issuer the inbox signs in with (Inbox__Authority; the functions app\'s Auth__Therapist__Authority).')
param inboxAuthority string

@description('The inbox\'s client id at that provider (Inbox__ClientId).')
param inboxClientId string

@description('Space-separated scopes the inbox asks for (Inbox__Scopes): openid, offline_access and the functions API\'s scope.')
param inboxScopes string

@description('The token claim naming the therapist\'s PractitionerRole (Inbox__TherapistClaim; the functions app\'s Auth__Therapist__TherapistClaim).')
param therapistClaim string

@description('The practice\'s IANA time zone id (Inbox__TimeZone).')
param practiceTimeZone string

// The operator sets this secret after provisioning (infra/README.md); the template never carries its value.
var inboxClientSecretName = 'inbox-client-secret'

// Written by the Redis module (modules/redis.bicep, the same name) from the cache's own key.
var redisConfigurationSecretName = 'redis-configuration'

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
    name: 'Ehrs__${i}__TimeZone'
    value: ehrs[i].?timeZone ?? practiceTimeZone
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
    // Public: EHRs, browsers and therapists' systems call the app. Its outbound traffic goes through the network.
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetId: subnetId
    siteConfig: {
      // All outbound traffic through the network, so private DNS resolves storage, the vault and Redis to their
      // private endpoints (Key Vault references included).
      vnetRouteAllEnabled: true
      linuxFxVersion: 'DOTNETCORE|10.0'
      // App Service probes each instance and takes one that stops answering out of the rotation (two or more instances).
      healthCheckPath: '/health'
      alwaysOn: true
      // The web server's own request log records every URL with its ids and query values (a patient's id in a search):
      // off. The app logs each request by its route instead (Operations/RequestLog.cs).
      httpLoggingEnabled: false
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
            // The client's address is the last hop App Service's front end appends to X-Forwarded-For: the rate
            // limits of /launch and the inbox sign-in are per client, not per front end.
            name: 'ASPNETCORE_FORWARDEDHEADERS_ENABLED'
            value: 'true'
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
          // The therapist inbox's OpenID Connect sign-in (smart-app/Inbox/InboxAuthentication.cs).
          {
            name: 'Inbox__Authority'
            value: inboxAuthority
          }
          {
            name: 'Inbox__ClientId'
            value: inboxClientId
          }
          // A Key Vault reference, resolved by App Service with the app's system-assigned identity (the default
          // identity for references, so keyVaultReferenceIdentity is not set). No version: App Service picks up a
          // new version of the secret within a day, or at once on restart.
          {
            name: 'Inbox__ClientSecret'
            value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=${inboxClientSecretName})'
          }
          // The state all instances share (sessions, inbox sign-ins, Data Protection keys): a Key Vault reference too.
          {
            name: 'Redis__Configuration'
            value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=${redisConfigurationSecretName})'
          }
          {
            name: 'Inbox__Scopes'
            value: inboxScopes
          }
          {
            name: 'Inbox__TherapistClaim'
            value: therapistClaim
          }
          {
            name: 'Inbox__RequireHttpsMetadata'
            value: 'true'
          }
          {
            name: 'Inbox__TimeZone'
            value: practiceTimeZone
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

// Reads the inbox's client secret (the Key Vault reference of Inbox__ClientSecret). A role assignment scoped to the
// secret itself would be narrower, but ARM needs the scope to exist when it deploys the assignment, and the secret
// is created by the operator after provisioning (its value is never in the template). So the scope is the vault:
// it holds no other secrets, only the signing keys, which are neither exportable nor certificate-backed, so this
// role reads none of their private halves.
resource inboxSecretUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, smartApp.id, '4633458b-17de-408a-b874-0445c86b69e6')
  scope: vault
  properties: {
    // Key Vault Secrets User
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
    principalId: smartApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: smartApp
  properties: {
    workspaceId: workspaceId
    // Every log category but AppServiceHTTPLogs, which holds each request's full URL (ids and query values).
    logs: [
      {
        category: 'AppServiceConsoleLogs'
        enabled: true
      }
      {
        category: 'AppServiceAppLogs'
        enabled: true
      }
      {
        category: 'AppServicePlatformLogs'
        enabled: true
      }
      {
        category: 'AppServiceAuditLogs'
        enabled: true
      }
      {
        category: 'AppServiceIPSecAuditLogs'
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
