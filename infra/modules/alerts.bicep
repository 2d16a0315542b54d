// What an operator must hear about, sent to one action group (email): a message moved to a poison queue (kept in
// the table PoisonMessages past the platform's 7 days by the poison-archive function), 5xx answers and failed health checks on either app, Key Vault refusing to
// sign or throttling, and the public endpoints EHRs depend on (JWKS, health) unreachable from outside.

@description('Azure region of the availability tests (Application Insights\' region).')
param location string

@description('Tags put on every resource.')
param tags object

@description('Short prefix of the alert rules\' names.')
param namePrefix string

@description('Who is told: the email address of the action group.')
param alertEmail string

@description('Log Analytics workspace that holds the storage queue logs.')
param workspaceId string

@description('Application Insights component that runs the availability tests.')
param appInsightsName string

@description('Storage account whose queues have poison queues.')
param storageAccountName string

@description('The functions app\'s name and URL.')
param functionsAppName string
param functionsUrl string

@description('The smart-app\'s name and URL.')
param smartAppName string
param smartAppUrl string

@description('Key Vault that signs for both apps.')
param vaultName string

@description('5xx answers in five minutes on one app that raise an alert.')
@minValue(1)
param http5xxThreshold int = 5

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource functionsApp 'Microsoft.Web/sites@2025-03-01' existing = {
  name: functionsAppName
}

resource smartApp 'Microsoft.Web/sites@2025-03-01' existing = {
  name: smartAppName
}

resource vault 'Microsoft.KeyVault/vaults@2026-02-01' existing = {
  name: vaultName
}

resource operators 'Microsoft.Insights/actionGroups@2024-10-01-preview' = {
  name: '${namePrefix}-operators'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take('${namePrefix}ops', 12)
    enabled: true
    emailReceivers: [
      {
        name: 'operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// A message lands in a poison queue only after every retry failed: a referral not written back or a person not told.
// The queue service's logs (StorageQueueLogs, see storage.bicep) record each PutMessage with the queue in its URI.
resource poisonArrivals 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-poison-queue-arrivals'
  location: location
  tags: tags
  properties: {
    displayName: 'A message moved to a poison queue'
    description: 'A write-back or notification failed every retry and is in <queue>-poison (ehr-writeback-poison, referral-notifications-poison). Within the hour the poison-archive function moves it to the table PoisonMessages; list and replay it with the worker command poison-messages.'
    severity: 1
    enabled: true
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    scopes: [
      workspaceId
    ]
    criteria: {
      allOf: [
        {
          query: 'StorageQueueLogs | where AccountName == "${storageAccountName}" and OperationName == "PutMessage" and Uri contains "-poison/messages"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [
        operators.id
      ]
    }
  }
}

var apps = [
  {
    key: 'functions'
    id: functionsApp.id
  }
  {
    key: 'smart-app'
    id: smartApp.id
  }
]

resource serverErrors 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for app in apps: {
    name: '${namePrefix}-${app.key}-5xx'
    location: 'global'
    tags: tags
    properties: {
      description: 'The ${app.key} answered ${http5xxThreshold} or more requests with a 5xx in five minutes.'
      severity: 2
      enabled: true
      scopes: [
        app.id
      ]
      evaluationFrequency: 'PT1M'
      windowSize: 'PT5M'
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: 'http5xx'
            metricNamespace: 'Microsoft.Web/sites'
            metricName: 'Http5xx'
            operator: 'GreaterThanOrEqual'
            threshold: http5xxThreshold
            timeAggregation: 'Total'
          }
        ]
      }
      actions: [
        {
          actionGroupId: operators.id
        }
      ]
    }
  }
]

// HealthCheckStatus is the share of instances answering the health path (healthCheckPath): below 100 one is failing.
resource healthChecks 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for app in apps: {
    name: '${namePrefix}-${app.key}-health'
    location: 'global'
    tags: tags
    properties: {
      description: 'An instance of the ${app.key} fails its health check (App Service takes it out of rotation and replaces it after an hour).'
      severity: 1
      enabled: true
      scopes: [
        app.id
      ]
      evaluationFrequency: 'PT1M'
      windowSize: 'PT5M'
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: 'healthCheckStatus'
            metricNamespace: 'Microsoft.Web/sites'
            metricName: 'HealthCheckStatus'
            operator: 'LessThan'
            threshold: 100
            timeAggregation: 'Average'
          }
        ]
      }
      actions: [
        {
          actionGroupId: operators.id
        }
      ]
    }
  }
]

// Without signing, no launch completes and no write-back reaches an EHR.
resource signFailures 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-vault-sign-failures'
  location: 'global'
  tags: tags
  properties: {
    description: 'Key Vault refused or failed a sign operation: launches and write-backs that need a signature fail.'
    severity: 1
    enabled: true
    scopes: [
      vault.id
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'signFailures'
          metricNamespace: 'Microsoft.KeyVault/vaults'
          metricName: 'ServiceApiResult'
          dimensions: [
            {
              name: 'ActivityName'
              operator: 'Include'
              values: [
                'KeySign'
              ]
            }
            {
              name: 'StatusCode'
              operator: 'Exclude'
              values: [
                '200'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Count'
        }
      ]
    }
    actions: [
      {
        actionGroupId: operators.id
      }
    ]
  }
}

resource throttling 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-vault-throttling'
  location: 'global'
  tags: tags
  properties: {
    description: 'Key Vault throttled the apps (429): signing is slowed or refused.'
    severity: 2
    enabled: true
    scopes: [
      vault.id
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'throttled'
          metricNamespace: 'Microsoft.KeyVault/vaults'
          metricName: 'ServiceApiResult'
          dimensions: [
            {
              name: 'StatusCode'
              operator: 'Include'
              values: [
                '429'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Count'
        }
      ]
    }
    actions: [
      {
        actionGroupId: operators.id
      }
    ]
  }
}

// From outside, as an EHR sees them: the JWKS it verifies our signatures with, and each app's health.
var probes = [
  {
    key: 'smart-app-jwks'
    url: '${smartAppUrl}/.well-known/jwks.json'
  }
  {
    key: 'smart-app-health'
    url: '${smartAppUrl}/health'
  }
  {
    key: 'functions-jwks'
    url: '${functionsUrl}/api/backend/jwks.json'
  }
  {
    key: 'functions-health'
    url: '${functionsUrl}/api/health'
  }
]

var probeLocations = [
  'us-va-ash-azr'
  'us-ca-sjc-azr'
  'us-il-ch1-azr'
  'emea-nl-ams-azr'
  'emea-gb-db3-azr'
]

resource availabilityTests 'Microsoft.Insights/webtests@2022-06-15' = [
  for probe in probes: {
    name: '${namePrefix}-${probe.key}'
    location: location
    // The portal shows a web test under its component only with this tag.
    tags: union(tags, {
      'hidden-link:${appInsights.id}': 'Resource'
    })
    kind: 'standard'
    properties: {
      SyntheticMonitorId: '${namePrefix}-${probe.key}'
      Name: '${namePrefix}-${probe.key}'
      Enabled: true
      Frequency: 300
      Timeout: 30
      Kind: 'standard'
      RetryEnabled: true
      Locations: [for id in probeLocations: { Id: id }]
      Request: {
        RequestUrl: probe.url
        HttpVerb: 'GET'
        ParseDependentRequests: false
      }
      ValidationRules: {
        ExpectedHttpStatusCode: 200
        SSLCheck: true
        SSLCertRemainingLifetimeCheck: 7
      }
    }
  }
]

resource availabilityAlerts 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for (probe, i) in probes: {
    name: '${namePrefix}-${probe.key}-unavailable'
    location: 'global'
    tags: tags
    properties: {
      description: '${probe.url} failed from two or more test locations.'
      severity: 1
      enabled: true
      scopes: [
        availabilityTests[i].id
        appInsights.id
      ]
      evaluationFrequency: 'PT1M'
      windowSize: 'PT5M'
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria'
        webTestId: availabilityTests[i].id
        componentId: appInsights.id
        failedLocationCount: 2
      }
      actions: [
        {
          actionGroupId: operators.id
        }
      ]
    }
  }
]

output actionGroupId string = operators.id
