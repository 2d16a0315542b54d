import { ehr } from 'types.bicep'

// The background functions (DESIGN.md §3): an Azure Functions app on the .NET 10 isolated worker (functions/Worker:
// referral-notify and ehr-writeback on the storage queues, referral-reminders, table-backup, token-replay-purge and poison-archive on
// timers), on the shared Linux Dedicated plan (infra/README.md says why not Flex Consumption), with a system-assigned
// identity, identity-based host storage (AzureWebJobsStorage__accountName, no key) and the roles it needs.

@description('Azure region of the resources.')
param location string

@description('Tags put on every resource (the azd service tag is added here).')
param tags object

@description('Function app name.')
param name string

@description('The Linux App Service plan it runs on.')
param planId string

@description('The subnet the app is integrated into (modules/network.bicep): storage, the vault and Redis are reached through it.')
param subnetId string

@description('Log Analytics workspace that receives its logs.')
param workspaceId string

@description('Application Insights component its telemetry goes to.')
param appInsightsName string

@description('The storage account (tables, queues, and the host\'s own blobs).')
param storageAccountName string

@description('Key Vault holding its SMART Backend Services key.')
param vaultName string

@description('Name of its SMART Backend Services key in the vault.')
param backendServicesKeyName string

@description('The smart-app\'s public https URL: messages link to its pages.')
param smartAppUrl string

@description('The address notification emails come from.')
param notificationsFrom string

@description('The SMTP server notification emails are sent through.')
param smtpHost string

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
    'azd-service-name': 'worker'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: planId
    // reserved = Linux.
    reserved: true
    httpsOnly: true
    clientAffinityEnabled: false
    // Nothing calls the worker from outside (no HTTP functions); azd deploys through the management plane.
    publicNetworkAccess: 'Enabled'
    virtualNetworkSubnetId: subnetId
    siteConfig: {
      // All outbound traffic through the network, so private DNS resolves storage, the vault and Redis to their
      // private endpoints (Key Vault references included).
      vnetRouteAllEnabled: true
      // Without Always On a Dedicated plan idles the host and queue and timer triggers stop firing.
      alwaysOn: true
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      remoteDebuggingEnabled: false
      use32BitWorkerProcess: false
      // The .NET 10 isolated worker (dotnet-isolated stack on Linux).
      linuxFxVersion: 'DOTNET-ISOLATED|10.0'
      appSettings: concat([
        {
          name: 'FUNCTIONS_EXTENSION_VERSION'
          value: '~4'
        }
        {
          name: 'FUNCTIONS_WORKER_RUNTIME'
          value: 'dotnet-isolated'
        }
        // Identity-based host storage: the account's name and the app's managed identity, never a key. The queue
        // triggers, the host's leases and timer schedules, and the app's own tables and blobs all use it.
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
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
          name: 'KeyVault__Uri'
          value: vault.properties.vaultUri
        }
        {
          name: 'KeyVault__Keys__BackendServices'
          value: backendServicesKeyName
        }
        {
          name: 'SmartApp__BaseUrl'
          value: smartAppUrl
        }
        {
          name: 'Notifications__Sender'
          value: 'Smtp'
        }
        {
          name: 'Notifications__From'
          value: notificationsFrom
        }
        {
          name: 'Notifications__Smtp__Host'
          value: smtpHost
        }
      ], ehrSettings)
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

// The Functions host keeps its keys, leases and timer schedules in blobs (identity-based AzureWebJobsStorage), and
// table-backup writes the hourly backups to the table-backups container.
resource hostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
  scope: storage
  properties: {
    // Storage Blob Data Owner
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b')
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The queue triggers: read and delete the messages, move failures to the poison queues (and the reminders queue notifications).
resource queueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
  scope: storage
  properties: {
    // Storage Queue Data Contributor
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '974c5e8b-45b9-4653-ba55-5f855dd0fb88')
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The tables the functions read and write: referrals and their work state, the directory, audit events, token replays.
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

// Sign with its own Backend Services key only: the role is scoped to that key, not to the vault.
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

output name string = functionApp.name
output principalId string = functionApp.identity.principalId
