// The private network the data lives behind: both apps are integrated into the 'apps' subnet and send all their
// outbound traffic through it; storage (blob, queue, table), Key Vault and Redis are reached over private endpoints
// in the 'private-endpoints' subnet, their names resolved by private DNS zones linked to the network. With
// allowPublicNetworkAccess false (the default) those services refuse the public internet.

@description('Azure region of the resources.')
param location string

@description('Tags put on every resource.')
param tags object

@description('Virtual network name.')
param name string

@description('Address space of the network; the two subnets take its first two /24s.')
param addressPrefix string = '10.20.0.0/16'

@description('Storage account reached over private endpoints (blob for the Functions host, queue, table).')
param storageAccountName string

@description('Key Vault reached over a private endpoint.')
param vaultName string

@description('Azure Cache for Redis reached over a private endpoint.')
param redisName string

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' existing = {
  name: vaultName
}

resource redis 'Microsoft.Cache/redis@2024-11-01' existing = {
  name: redisName
}

resource network 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        // App Service regional VNet integration: one subnet per plan, delegated to it.
        name: 'apps'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 1)
          delegations: [
            {
              name: 'app-service'
              properties: {
                serviceName: 'Microsoft.Web/serverFarms'
              }
            }
          ]
        }
      }
      {
        name: 'private-endpoints'
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 2)
          privateEndpointNetworkPolicies: 'Enabled'
        }
      }
    ]
  }

  resource appsSubnet 'subnets' existing = {
    name: 'apps'
  }

  resource endpointsSubnet 'subnets' existing = {
    name: 'private-endpoints'
  }
}

// One endpoint per service; group ids as Azure names them, and the private DNS zone each one's name resolves in.
var endpoints = [
  {
    key: 'storage-blob'
    target: storage.id
    groupId: 'blob'
    zone: 'privatelink.blob.${environment().suffixes.storage}'
  }
  {
    key: 'storage-queue'
    target: storage.id
    groupId: 'queue'
    zone: 'privatelink.queue.${environment().suffixes.storage}'
  }
  {
    key: 'storage-table'
    target: storage.id
    groupId: 'table'
    zone: 'privatelink.table.${environment().suffixes.storage}'
  }
  {
    key: 'vault'
    target: vault.id
    groupId: 'vault'
    zone: 'privatelink.vaultcore.azure.net'
  }
  {
    key: 'redis'
    target: redis.id
    groupId: 'redisCache'
    zone: 'privatelink.redis.cache.windows.net'
  }
]

resource zones 'Microsoft.Network/privateDnsZones@2024-06-01' = [
  for endpoint in endpoints: {
    name: endpoint.zone
    location: 'global'
    tags: tags
  }
]

resource zoneLinks 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = [
  for (endpoint, i) in endpoints: {
    parent: zones[i]
    name: name
    location: 'global'
    tags: tags
    properties: {
      registrationEnabled: false
      virtualNetwork: {
        id: network.id
      }
    }
  }
]

resource privateEndpoints 'Microsoft.Network/privateEndpoints@2024-05-01' = [
  for endpoint in endpoints: {
    name: '${name}-${endpoint.key}'
    location: location
    tags: tags
    properties: {
      subnet: {
        id: network::endpointsSubnet.id
      }
      privateLinkServiceConnections: [
        {
          name: endpoint.key
          properties: {
            privateLinkServiceId: endpoint.target
            groupIds: [
              endpoint.groupId
            ]
          }
        }
      ]
    }
  }
]

resource dnsGroups 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = [
  for (endpoint, i) in endpoints: {
    parent: privateEndpoints[i]
    name: 'default'
    properties: {
      privateDnsZoneConfigs: [
        {
          name: endpoint.key
          properties: {
            privateDnsZoneId: zones[i].id
          }
        }
      ]
    }
  }
]

output appsSubnetId string = network::appsSubnet.id
