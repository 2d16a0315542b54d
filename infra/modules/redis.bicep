// Azure Cache for Redis: the state every smart-app instance shares (sessions, launch records, inbox sign-ins, the
// Data Protection keys), each value encrypted by the app before it is sent. TLS only (1.2+). Its access key goes
// straight into Key Vault as the app's connection setting; no parameter or output carries it.

@description('Azure region of the resources.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Cache name.')
param name string

@description('Basic has no replica and no SLA; Standard replicates (primary and replica); Premium adds zones and VNet injection.')
@allowed([
  'Basic'
  'Standard'
  'Premium'
])
param skuName string

@description('Cache size within the tier (C0-C6 for Basic/Standard, P1-P5 for Premium).')
@minValue(0)
@maxValue(6)
param capacity int

@description('Whether the cache answers on its public endpoint (TLS and the access key still required). Disabled: only through the private endpoint of modules/network.bicep.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('The Key Vault that receives the connection setting as the secret redis-configuration.')
param vaultName string

// The smart-app reads it through a Key Vault reference as Redis__Configuration (modules/smartapp.bicep, the same name).
var redisConfigurationSecretName = 'redis-configuration'

@description('Log Analytics workspace that receives the cache\'s connection logs and metrics.')
param workspaceId string

resource redis 'Microsoft.Cache/redis@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: skuName
      family: skuName == 'Premium' ? 'P' : 'C'
      capacity: capacity
    }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: publicNetworkAccess
    redisConfiguration: {
      // The app's keys expire on their own (sliding or absolute); nothing is evicted that has not expired.
      'maxmemory-policy': 'volatile-lru'
    }
  }
}

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' existing = {
  name: vaultName
}

// StackExchange.Redis configuration: TLS on 6380, the primary key, keep retrying while the cache fails over.
resource redisConfiguration 'Microsoft.KeyVault/vaults/secrets@2026-02-01' = {
  parent: vault
  name: redisConfigurationSecretName
  properties: {
    contentType: 'StackExchange.Redis configuration'
    value: '${redis.properties.hostName}:${redis.properties.sslPort},password=${redis.listKeys().primaryKey},ssl=True,abortConnect=False'
  }
}

resource redisDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: redis
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

output name string = redis.name
