import { ehr, signingKeyNames } from 'modules/types.bicep'

// The whole product in one resource group (infra/README.md): monitoring, storage, Key Vault with the signing keys,
// one Linux App Service plan running the FHIR API (web app), the background functions (isolated-worker Functions app)
// and the smart-app, and the role
// assignments that let each app's managed identity do only its own work. No secret is a parameter or an output.
targetScope = 'resourceGroup'

@description('Name of the environment (azd: AZURE_ENV_NAME), e.g. dev, test, prod. Part of every resource name\'s hash.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region of every resource. Defaults to the resource group\'s.')
param location string = resourceGroup().location

@description('Short prefix of resource names: 2-8 lowercase letters or digits.')
@minLength(2)
@maxLength(8)
param namePrefix string = 'mmr'

@description('Size of the App Service plan that runs both apps.')
param planSku string = 'P0v3'

@description('Instances of the App Service plan (both apps run on each): two or more, so a platform update or a failed instance never takes the product down; the smart-app shares its state in Redis.')
@minValue(2)
param planCapacity int = 2

@description('Azure Cache for Redis tier: Standard replicates (the smart-app\'s sessions and Data Protection keys survive a node failure).')
param redisSku string = 'Standard'

@description('Azure Cache for Redis size within the tier (C0 = 250 MB is plenty for sessions).')
param redisCapacity int = 0


@description('Replication of the storage account: zone-redundant by default (a datacenter loss keeps every referral); Standard_GZRS adds a copy in the paired region.')
@allowed([
  'Standard_ZRS'
  'Standard_GZRS'
  'Standard_LRS'
  'Standard_GRS'
])
param storageSku string = 'Standard_ZRS'

@description('Spread the plan\'s instances over availability zones (Premium v3 sizes only; ignored for B and S sizes).')
param planZoneRedundant bool = true

@description('CanNotDelete locks on the storage account and the vault, so `azd down` or a mistaken delete cannot take the referrals or the signing keys. Deploying a lock needs Owner or User Access Administrator; false for a throwaway trial.')
param lockDataResources bool = true

@description('The email address alerts go to (poison messages, 5xx, failed health checks, Key Vault sign failures and throttling, unreachable JWKS and health endpoints).')
@minLength(3)
param alertEmail string

@description('Days each table backup stays immutable before it expires (the hourly table-backup function; the first run of each day is a full copy).')
param backupRetentionDays int = 35

@description('Days deleted blobs and containers can be restored.')
param softDeleteRetentionDays int = 14

@description('Days Log Analytics keeps logs, including the audit events.')
param logRetentionDays int = 90

@description('Key Vault tier: premium keeps the signing keys in HSMs.')
param vaultSku string = 'standard'

@description('Whether storage, Key Vault and Redis answer on their public endpoints. False (the default): only over the private endpoints in the network the apps are integrated into. True only for a trial from outside that network (identity, TLS and keys are still required).')
param allowPublicNetworkAccess bool = false

@description('Address space of the virtual network (two /24 subnets are taken from it).')
param networkAddressPrefix string = '10.20.0.0/16'

@description('The therapists\' OpenID Connect issuer, e.g. https://login.microsoftonline.com/<tenant id>/v2.0.')
@minLength(1)
param therapistAuthority string

@description('The address notification emails come from (worker Notifications__From).')
@minLength(3)
param notificationsFrom string

@description('The SMTP server notification emails are sent through (Notifications__Smtp__Host; STARTTLS on 587).')
@minLength(1)
param smtpHost string

@description('The token claim naming a therapist\'s PractitionerRole.')
param therapistClaim string = 'fhirUser'

@description('The app role that makes a therapist-side user an administrator (audit trail).')
param adminRole string = 'referral-admin'

@description('The aud of every token for the functions API.')
param apiAudience string = 'medical-massage-functions'

@description('The therapist inbox\'s client id at the therapists\' OpenID Connect provider (its own Entra app registration; infra/README.md). Its client secret is not a parameter: the operator puts it in the vault as inbox-client-secret.')
@minLength(1)
param inboxClientId string

@description('Scopes the inbox asks for (smart-app Inbox__Scopes), space-separated: openid, profile, offline_access (a refresh token) and the functions API\'s scope, whose access token must carry aud = apiAudience. The default suits Entra when apiAudience is the API\'s Application ID URI (e.g. api://<api client id>), which is the aud of its v1 access tokens, and the API exposes a scope named referral.inbox.')
param inboxScopes string = 'openid profile offline_access ${apiAudience}/referral.inbox'

@description('The practice\'s time zone, an IANA id such as America/Chicago (smart-app Inbox__TimeZone): session dates and times are typed in it.')
@minLength(1)
param practiceTimeZone string = 'UTC'

@description('EHRs allowed to launch the smart-app (the allow-list by iss). Nothing secret: client ids are public.')
param ehrs ehr[] = []

var token = uniqueString(subscription().id, resourceGroup().id, environmentName)
var tags = {
  'azd-env-name': environmentName
  product: 'medical-massage-referral'
}

var dataPublicNetworkAccess = allowPublicNetworkAccess ? 'Enabled' : 'Disabled'

var names = {
  workspace: '${namePrefix}-log-${token}'
  appInsights: '${namePrefix}-appi-${token}'
  storage: take('${namePrefix}st${token}', 24)
  vault: take('${namePrefix}-kv-${token}', 24)
  plan: '${namePrefix}-plan-${token}'
  functions: '${namePrefix}-func-${token}'
  worker: '${namePrefix}-worker-${token}'
  smartApp: '${namePrefix}-app-${token}'
  redis: '${namePrefix}-redis-${token}'
  network: '${namePrefix}-vnet-${token}'
}

var keyNames signingKeyNames = {
  smartAppClientRsa: 'smart-app-client-rs384'
  smartAppClientEc: 'smart-app-client-es384'
  smartAppApiSigning: 'smart-app-api-es384'
  functionsBackendServices: 'functions-backend-rs384'
}

// The two apps name each other: the functions app trusts tokens whose iss is the smart-app's URL, and the smart-app
// calls the functions app. The smart-app's default host name follows from its name, which breaks the cycle.
var smartAppUrl = 'https://${names.smartApp}.azurewebsites.net'

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    tags: tags
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    retentionInDays: logRetentionDays
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    location: location
    tags: tags
    name: names.storage
    skuName: storageSku
    publicNetworkAccess: dataPublicNetworkAccess
    backupRetentionDays: backupRetentionDays
    softDeleteRetentionDays: softDeleteRetentionDays
    workspaceId: monitoring.outputs.workspaceId
    lockAgainstDeletion: lockDataResources
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    tags: tags
    name: names.vault
    skuName: vaultSku
    publicNetworkAccess: dataPublicNetworkAccess
    workspaceId: monitoring.outputs.workspaceId
    keyNames: keyNames
    lockAgainstDeletion: lockDataResources
  }
}

module redis 'modules/redis.bicep' = {
  name: 'redis'
  params: {
    location: location
    tags: tags
    name: names.redis
    skuName: redisSku
    capacity: redisCapacity
    publicNetworkAccess: dataPublicNetworkAccess
    vaultName: vault.outputs.name
    workspaceId: monitoring.outputs.workspaceId
  }
}

module network 'modules/network.bicep' = {
  name: 'network'
  params: {
    location: location
    tags: tags
    name: names.network
    addressPrefix: networkAddressPrefix
    storageAccountName: storage.outputs.name
    vaultName: vault.outputs.name
    redisName: redis.outputs.name
  }
}

module plan 'modules/plan.bicep' = {
  name: 'plan'
  params: {
    location: location
    tags: tags
    name: names.plan
    skuName: planSku
    capacity: planCapacity
    zoneRedundant: planZoneRedundant
    workspaceId: monitoring.outputs.workspaceId
  }
}

module functions 'modules/functions.bicep' = {
  name: 'functions'
  params: {
    location: location
    tags: tags
    name: names.functions
    planId: plan.outputs.id
    subnetId: network.outputs.appsSubnetId
    workspaceId: monitoring.outputs.workspaceId
    appInsightsName: monitoring.outputs.appInsightsName
    storageAccountName: storage.outputs.name
    vaultName: vault.outputs.name
    backendServicesKeyName: keyNames.functionsBackendServices
    smartAppUrl: smartAppUrl
    ehrs: ehrs
    audience: apiAudience
    therapistAuthority: therapistAuthority
    therapistClaim: therapistClaim
    adminRole: adminRole
  }
}

// The background functions: the .NET isolated worker, on the same plan and network as the apps.
module worker 'modules/worker.bicep' = {
  name: 'worker'
  params: {
    location: location
    tags: tags
    name: names.worker
    planId: plan.outputs.id
    subnetId: network.outputs.appsSubnetId
    workspaceId: monitoring.outputs.workspaceId
    appInsightsName: monitoring.outputs.appInsightsName
    storageAccountName: storage.outputs.name
    vaultName: vault.outputs.name
    backendServicesKeyName: keyNames.functionsBackendServices
    smartAppUrl: smartAppUrl
    ehrs: ehrs
    notificationsFrom: notificationsFrom
    smtpHost: smtpHost
  }
}

module smartApp 'modules/smartapp.bicep' = {
  name: 'smart-app'
  params: {
    location: location
    tags: tags
    name: names.smartApp
    planId: plan.outputs.id
    subnetId: network.outputs.appsSubnetId
    workspaceId: monitoring.outputs.workspaceId
    appInsightsName: monitoring.outputs.appInsightsName
    vaultName: vault.outputs.name
    keyNames: keyNames
    functionsUrl: functions.outputs.url
    functionsAudience: apiAudience
    ehrs: ehrs
    baseUrl: smartAppUrl
    inboxAuthority: therapistAuthority
    inboxClientId: inboxClientId
    inboxScopes: inboxScopes
    therapistClaim: therapistClaim
    practiceTimeZone: practiceTimeZone
  }
  // Its Redis__Configuration is a Key Vault reference to the secret the Redis module writes ('redis-configuration'):
  // the Redis module is deployed first because the network module (its subnet) takes the cache's name from it.
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    tags: tags
    namePrefix: '${namePrefix}-${token}'
    alertEmail: alertEmail
    workspaceId: monitoring.outputs.workspaceId
    appInsightsName: monitoring.outputs.appInsightsName
    storageAccountName: storage.outputs.name
    functionsAppName: functions.outputs.name
    functionsUrl: functions.outputs.url
    smartAppName: smartApp.outputs.name
    smartAppUrl: smartAppUrl
    vaultName: vault.outputs.name
  }
}

// azd stores outputs in the environment (.azure/<env>/.env): names and URLs only.
output FUNCTIONS_APP_NAME string = functions.outputs.name
output FUNCTIONS_URL string = functions.outputs.url
output WORKER_APP_NAME string = worker.outputs.name
output SMART_APP_NAME string = smartApp.outputs.name
output SMART_APP_URL string = smartAppUrl
output VAULT_URI string = vault.outputs.uri
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
output PLAN_ZONE_REDUNDANT bool = plan.outputs.zoneRedundant
