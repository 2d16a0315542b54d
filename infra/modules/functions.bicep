import { ehr } from 'types.bicep'

// The FHIR API (functions/): an ASP.NET Core app on App Service (DESIGN.md §3: not HTTP-triggered functions, whose
// isolated worker runs no ASP.NET Core middleware), on the shared Linux Dedicated plan, with a system-assigned
// identity and the roles it needs. It writes the queue messages the background functions (worker.bicep) read.

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

@description('The storage account (tables; queues it writes to).')
param storageAccountName string

@description('Key Vault holding the SMART Backend Services key whose public half it serves (/api/backend/jwks.json).')
param vaultName string

@description('Name of its SMART Backend Services key in the vault.')
param backendServicesKeyName string

@description('The smart-app\'s public https URL: the iss of the physician tokens it signs, and where its JWKS is.')
param smartAppUrl string

@description('The aud every token for the API carries.')
param audience string

@description('The therapists\' OpenID Connect issuer (e.g. https://login.microsoftonline.com/<tenant>/v2.0).')
param therapistAuthority string

@description('The token claim naming the therapist\'s PractitionerRole.')
param therapistClaim string

@description('The app role that makes a signed-in user an administrator.')
param adminRole string

@description('EHRs of the allow-list; those with a backendClientId get progress written back (SMART Backend Services).')
param ehrs ehr[]

// The functions app's Ehrs list holds only the EHRs it writes to, numbered from 0 without gaps.
var writeBackEhrs = filter(ehrs, e => !empty(e.?backendClientId ?? ''))
var ehrSettings = flatten(map(range(0, length(writeBackEhrs)), i => [
  {
    name: 'Ehrs__${i}__Iss'
    value: writeBackEhrs[i].iss
  }
  {
    name: 'Ehrs__${i}__ClientId'
    value: writeBackEhrs[i].?backendClientId ?? ''
  }
  {
    name: 'Ehrs__${i}__WriteBack'
    value: 'True'
  }
  {
    name: 'Ehrs__${i}__WriteServiceRequest'
    value: string(writeBackEhrs[i].acceptsWrites)
  }
]))

// The EHRs that may call the CDS services (those with a cdsHooksJwksUrl), numbered from 0 without gaps. The service's
// URL (the aud of their JWTs) is this app's default host name; with a custom domain, set CdsHooks__BaseUrl to it.
var cdsEhrs = filter(ehrs, e => !empty(e.?cdsHooksJwksUrl ?? ''))
var cdsSettings = concat(empty(cdsEhrs) ? [] : [
  {
    name: 'CdsHooks__BaseUrl'
    value: 'https://${name}.azurewebsites.net'
  }
  {
    name: 'CdsHooks__AppLaunchUrl'
    value: '${smartAppUrl}/launch'
  }
], flatten(map(range(0, length(cdsEhrs)), i => [
  {
    name: 'CdsHooks__Clients__${i}__Issuer'
    value: cdsEhrs[i].?cdsHooksIssuer ?? cdsEhrs[i].iss
  }
  {
    name: 'CdsHooks__Clients__${i}__JwksUrl'
    value: cdsEhrs[i].?cdsHooksJwksUrl ?? ''
  }
  {
    name: 'CdsHooks__Clients__${i}__FhirServer'
    value: cdsEhrs[i].iss
  }
  {
    name: 'CdsHooks__Clients__${i}__MaxTokenLifetime'
    value: cdsEhrs[i].?cdsHooksMaxTokenLifetime ?? '00:05:00'
  }
])))

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' existing = {
  name: vaultName

  resource backendServicesKey 'keys' existing = {
    name: backendServicesKeyName
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'functions'
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
    clientAffinityEnabled: false
    // Public: EHRs, browsers and therapists' systems call the app. Its outbound traffic goes through the network.
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetId: subnetId
    siteConfig: {
      // All outbound traffic through the network, so private DNS resolves storage, the vault and Redis to their
      // private endpoints (Key Vault references included).
      vnetRouteAllEnabled: true
      linuxFxVersion: 'DOTNETCORE|10.0'
      // No cold start in front of a physician inside the EHR.
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
      // Readiness (storage answers), as App Service asks of the path: an instance that cannot reach storage leaves the
      // load balancer while the others serve, and rejoins when it answers again (the app recovers without a restart).
      // A storage-wide outage fails every instance alike; App Service then excludes none (at most half by default), so
      // readiness never empties the pool. /api/health/live is the liveness probe, for monitors that must not count an outage.
      healthCheckPath: '/api/health'
      appSettings: concat([
        // Identity-based storage (the setting keeps its Functions name): the service URIs and the app's managed
        // identity, never a key.
        {
          name: 'AzureWebJobsStorage__blobServiceUri'
          value: storage.properties.primaryEndpoints.blob
        }
        {
          name: 'AzureWebJobsStorage__queueServiceUri'
          value: storage.properties.primaryEndpoints.queue
        }
        {
          name: 'AzureWebJobsStorage__tableServiceUri'
          value: storage.properties.primaryEndpoints.table
        }
        {
          name: 'AzureWebJobsStorage__credential'
          value: 'managedidentity'
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsights.properties.ConnectionString
        }
        {
          name: 'Auth__Audience'
          value: audience
        }
        {
          name: 'Auth__RequireHttpsMetadata'
          value: 'true'
        }
        {
          name: 'Auth__Physician__Issuer'
          value: smartAppUrl
        }
        {
          name: 'Auth__Physician__JwksUrl'
          value: '${smartAppUrl}/.well-known/api-jwks.json'
        }
        {
          name: 'Auth__Therapist__Authority'
          value: therapistAuthority
        }
        {
          name: 'Auth__Therapist__TherapistClaim'
          value: therapistClaim
        }
        {
          name: 'Auth__Therapist__AdminRole'
          value: adminRole
        }
        {
          name: 'KeyVault__Uri'
          value: vault.properties.vaultUri
        }
        {
          name: 'KeyVault__Keys__BackendServices'
          value: backendServicesKeyName
        }
      ], ehrSettings, cdsSettings)
    }
  }
}

// azd deploys with the deploying user's Microsoft Entra token: FTP and Kudu basic authentication stay off.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// Each grant is spelled out with its built-in role id (Azure RBAC built-in roles reference), so a reviewer and the
// template test see exactly what this identity may do.

// The API only puts messages on the queues (notifications, EHR write-back); the worker reads them.
resource queueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a')
  scope: storage
  properties: {
    // Storage Queue Data Message Sender
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a')
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The app's tables: referrals, index, therapist directory, audit events.
resource tableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
  scope: storage
  properties: {
    // Storage Table Data Contributor
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3')
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Its own Backend Services key only (it publishes the public half): the role is scoped to that key, not to the vault.
resource backendServicesKeyUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault::backendServicesKey.id, functionApp.id, '12338af0-0e69-4776-bea7-57ae8d297424')
  scope: vault::backendServicesKey
  properties: {
    // Key Vault Crypto User
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '12338af0-0e69-4776-bea7-57ae8d297424')
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: functionApp
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

output name string = functionApp.name
output url string = 'https://${functionApp.properties.defaultHostName}'
output principalId string = functionApp.identity.principalId
