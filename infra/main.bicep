// OtpFailover on Azure: `azd up` provisions this and deploys src/OtpFailover.Functions. Every module is local (no
// registry is reachable from CI). README › Deploy to Azure walks through it.
targetScope = 'subscription'

import { verificationSettings, whatsAppSettings, smsSettings, emailSettings, abuseSettings, retentionSettings, callbackSettings } from 'app/settings-types.bicep'

@minLength(1)
@maxLength(40)
@description('Name of the azd environment: names the resource group and tags every resource.')
param environmentName string

@minLength(1)
@description('Region of every resource (Communication Services and its Event Grid topic are global): one that offers Flex Consumption.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of whoever runs azd (azd sets it): may read and write the Key Vault secrets the hooks manage.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@secure()
@description('Verification:CodeKey, Base64 of 32 bytes. The preprovision hook makes one when the vault has none; left empty, the vault keeps the one it has.')
param codeKey string = ''

@secure()
@description('Sms:WebhookKey, sent by Event Grid with every delivery report. Made by the preprovision hook like codeKey.')
param smsWebhookKey string = ''

@secure()
@description('Callbacks:SigningKey (whsec_ and Base64 of 32 bytes). Made by the preprovision hook like codeKey.')
param callbackSigningKey string = ''

@secure()
@description('WhatsApp:AccessToken. Written to the vault when given; empty keeps what the vault has.')
param whatsAppAccessToken string = ''

@secure()
@description('WhatsApp:AppSecret. Written to the vault when given; empty keeps what the vault has.')
param whatsAppAppSecret string = ''

@secure()
@description('WhatsApp:VerifyToken. Written to the vault when given; empty keeps what the vault has.')
param whatsAppVerifyToken string = ''

@description('Verification:* settings; empty ones keep the app\'s defaults.')
param verification verificationSettings = {}

@description('WhatsApp:* settings. The channel is on when phoneNumberId is given.')
param whatsApp whatsAppSettings = {}

@description('Sms:* settings. Sms:From (the number bought in Communication Services) is needed before any SMS goes out.')
param sms smsSettings = {}

@description('Email:* (README › Configuration); on once from is given.')
param email emailSettings = {}

@description('Abuse:* settings; empty ones keep the app\'s defaults.')
param abuse abuseSettings = {}

@description('Retention:* settings: when the daily purge runs, and how long ended verifications are kept.')
param retention retentionSettings = {}

@description('Callbacks:* settings: the global receiver, the hosts a start may name, and the retries.')
param callbacks callbackSettings = {}

@description('Where Communication Services keeps its data at rest.')
param communicationDataLocation string = 'United States'

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Always-ready instances per group, e.g. [{ name: \'http\', instanceCount: 1 }] (billed while idle).')
param alwaysReady array = []

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))
var deploymentContainerName = 'app-package-${token}'
var identityName = 'id-otpfailover-${token}'

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'core/identity.bicep' = {
  scope: group
  params: {
    name: identityName
    location: location
    tags: tags
  }
}

module storage 'core/storage.bicep' = {
  scope: group
  params: {
    name: 'st${token}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    identityName: identityName
  }
  dependsOn: [identity]
}

module monitoring 'core/monitoring.bicep' = {
  scope: group
  params: {
    logAnalyticsName: 'log-${token}'
    applicationInsightsName: 'appi-${token}'
    location: location
    tags: tags
    identityName: identityName
  }
  dependsOn: [identity]
}

module vault 'core/key-vault.bicep' = {
  scope: group
  params: {
    name: 'kv-${token}'
    location: location
    tags: tags
    identityName: identityName
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
    codeKey: codeKey
    smsWebhookKey: smsWebhookKey
    whatsAppAccessToken: whatsAppAccessToken
    whatsAppAppSecret: whatsAppAppSecret
    whatsAppVerifyToken: whatsAppVerifyToken
    callbackSigningKey: callbackSigningKey
  }
  dependsOn: [identity]
}

module communication 'core/communication.bicep' = {
  scope: group
  params: {
    name: 'acs-${token}'
    systemTopicName: 'evgt-acs-${token}'
    tags: tags
    dataLocation: communicationDataLocation
    identityName: identityName
    emailEnabled: email.?managedDomain ?? false
    emailServiceName: 'ecs-${token}'
  }
  dependsOn: [identity]
}

module api 'app/function-app.bicep' = {
  scope: group
  params: {
    name: 'func-${token}'
    planName: 'plan-${token}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    communicationEndpoint: communication.outputs.endpoint
    secretUris: vault.outputs.secretUris
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReady: alwaysReady
    verification: verification
    whatsApp: whatsApp
    sms: sms
    email: union(email, empty(email.?from ?? '') && (email.?managedDomain ?? false) ? { from: communication.outputs.emailFrom } : {})
    abuse: abuse
    retention: retention
    callbacks: callbacks
  }
}

// azd keeps these in the environment (azd env get-values); the postdeploy hook prints what to do with them.
output AZURE_RESOURCE_GROUP string = group.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output AZURE_COMMUNICATION_SERVICES_NAME string = communication.outputs.name
output AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME string = communication.outputs.systemTopicName
output API_BASE_URL string = 'https://${api.outputs.defaultHostName}/api'
output WHATSAPP_WEBHOOK_URL string = 'https://${api.outputs.defaultHostName}/api/webhooks/whatsapp'
output SMS_WEBHOOK_URL string = 'https://${api.outputs.defaultHostName}/api/webhooks/acs'
output WHATSAPP_VERIFY_TOKEN_SECRET string = vault.outputs.secretNames.whatsAppVerifyToken
output SMS_WEBHOOK_KEY_SECRET string = vault.outputs.secretNames.smsWebhookKey
