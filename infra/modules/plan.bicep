// One Linux App Service plan (Dedicated hosting) runs both apps: see infra/README.md for why not Flex Consumption
// or Elastic Premium.

@description('Azure region of the resources.')
param location string

@description('Tags put on every resource.')
param tags object

@description('App Service plan name.')
param name string

@description('Plan size. Basic and up support Always On, which queue and timer triggers need on a Dedicated plan.')
@allowed([
  'B1'
  'B2'
  'B3'
  'S1'
  'S2'
  'S3'
  'P0v3'
  'P1v3'
  'P2v3'
  'P3v3'
  'P1mv3'
  'P2mv3'
])
param skuName string

@description('Number of instances.')
@minValue(1)
@maxValue(30)
param capacity int

@description('Spread the instances over availability zones. Only Premium v3 plans can (the B and S sizes cannot), with two or more instances; a region without zones refuses it.')
param zoneRedundant bool

@description('Log Analytics workspace that receives the plan\'s metrics.')
param workspaceId string

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: name
  location: location
  tags: tags
  kind: 'linux'
  sku: {
    name: skuName
    capacity: capacity
  }
  properties: {
    // reserved = Linux.
    reserved: true
    // Set only where the size allows it, so a trial on B1 still deploys; the output says what was set.
    zoneRedundant: zoneRedundant && startsWith(skuName, 'P') && capacity >= 2
  }
}

resource planDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: plan
  properties: {
    workspaceId: workspaceId
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output id string = plan.id
output zoneRedundant bool = plan.properties.zoneRedundant
