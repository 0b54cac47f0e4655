// The Function App on the Flex Consumption plan, running as a user-assigned identity, with every setting the app
// binds (tests/OtpFailover.Tests/Infrastructure/InfrastructureTests.cs compares them with the options it binds).

import { verificationSettings, whatsAppSettings, smsSettings, emailSettings, abuseSettings, retentionSettings, callbackSettings } from 'settings-types.bicep'

param name string

param planName string

param location string

param tags object = {}

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity.')
param identityClientId string

param storageAccountName string

param blobEndpoint string

param queueEndpoint string

param tableEndpoint string

param deploymentContainerName string

param applicationInsightsConnectionString string

param communicationEndpoint string

@description('Versionless Key Vault secret URIs, by setting (see core/key-vault.bicep).')
param secretUris object

@allowed([
  512
  2048
  4096
])
@description('Memory of one instance, in MB.')
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
@description('Most instances the plan scales out to.')
param maximumInstanceCount int = 100

@description('Always-ready instances per group, e.g. [{ name: \'http\', instanceCount: 1 }] (billed while idle).')
param alwaysReady array = []

param verification verificationSettings = {}

param whatsApp whatsAppSettings = {}

param sms smsSettings = {}

param email emailSettings = {}

param abuse abuseSettings = {}

param retention retentionSettings = {}

param callbacks callbackSettings = {}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

var whatsAppOn = !empty(whatsApp.?phoneNumberId ?? '')
var smsOn = !empty(sms.?from ?? '')
var emailOn = !empty(email.?from ?? '')

// Every setting the app binds. An empty value means "not set" to the app, so optional ones can be listed even when
// they are not given. Secrets are Key Vault references resolved with the app's identity.
var appSettings = {
  // The host and the app reach storage by identity (no connection string anywhere).
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: queueEndpoint
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'

  Verification__CodeKey: '@Microsoft.KeyVault(SecretUri=${secretUris.codeKey})'
  Verification__CodeLength: verification.?codeLength ?? ''
  Verification__CodeLifetime: verification.?codeLifetime ?? ''
  Verification__WhatsAppDeliveryTimeout: verification.?whatsAppDeliveryTimeout ?? ''
  Verification__FailoverWhen: verification.?failoverWhen ?? ''
  Verification__FailoverIfUnverifiedAfter: verification.?failoverIfUnverifiedAfter ?? ''
  Verification__ReconcileInterval: verification.?reconcileInterval ?? ''
  Verification__MaxCheckAttempts: verification.?maxCheckAttempts ?? ''
  Verification__Brand: verification.?brand ?? ''
  Verification__DefaultLocale: verification.?defaultLocale ?? ''
  Verification__Channels: verification.?channels ?? ''
  Verification__SmsDeliveryTimeout: verification.?smsDeliveryTimeout ?? ''
  Verification__EmailDeliveryTimeout: verification.?emailDeliveryTimeout ?? ''
  Verification__AllowChannelsBeyondCountry: (verification.?allowChannelsBeyondCountry ?? false) ? 'true' : ''

  Storage__TableName: ''

  // The purge's timer trigger resolves %Retention:Schedule% itself, so this one is never empty.
  Retention__Schedule: retention.?schedule ?? '0 30 3 * * *'
  Retention__KeepEndedFor: retention.?keepEndedFor ?? ''
  Retention__MaxRunTime: retention.?maxRunTime ?? ''

  // Status callbacks are signed with the key in the vault; they go nowhere until a URL or allowed hosts are given.
  Callbacks__SigningKey: '@Microsoft.KeyVault(SecretUri=${secretUris.callbackSigningKey})'
  Callbacks__Url: callbacks.?url ?? ''
  Callbacks__AllowedHosts: callbacks.?allowedHosts ?? ''
  Callbacks__AllowPrivateNetworks: (callbacks.?allowPrivateNetworks ?? false) ? 'true' : ''
  Callbacks__RetryFor: callbacks.?retryFor ?? ''
  Callbacks__FirstRetryInterval: callbacks.?firstRetryInterval ?? ''
  Callbacks__MaximumRetryInterval: callbacks.?maximumRetryInterval ?? ''
  Callbacks__RequestTimeout: callbacks.?requestTimeout ?? ''

  // WhatsApp is on when a phone number id is given; its secrets must then be in the vault.
  WhatsApp__PhoneNumberId: whatsApp.?phoneNumberId ?? ''
  WhatsApp__AccessToken: whatsAppOn ? '@Microsoft.KeyVault(SecretUri=${secretUris.whatsAppAccessToken})' : ''
  WhatsApp__AppSecret: whatsAppOn ? '@Microsoft.KeyVault(SecretUri=${secretUris.whatsAppAppSecret})' : ''
  WhatsApp__VerifyToken: whatsAppOn ? '@Microsoft.KeyVault(SecretUri=${secretUris.whatsAppVerifyToken})' : ''
  WhatsApp__TemplateName: whatsApp.?templateName ?? ''
  WhatsApp__TemplateLanguage: whatsApp.?templateLanguage ?? ''
  WhatsApp__TemplateLanguages: whatsApp.?templateLanguages ?? ''
  WhatsApp__BaseUrl: whatsApp.?baseUrl ?? ''
  WhatsApp__ApiVersion: whatsApp.?apiVersion ?? ''
  WhatsApp__RequestTimeout: whatsApp.?requestTimeout ?? ''
  WhatsApp__MaxSendAttempts: whatsApp.?maxSendAttempts ?? ''

  // SMS through Communication Services with Entra ID: the endpoint and the identity, no access key. The channel is on
  // once Sms:From is given (a number bought in the resource): without a sender it could send nothing.
  Sms__Endpoint: smsOn ? communicationEndpoint : ''
  Sms__ManagedIdentityClientId: identityClientId
  Sms__From: sms.?from ?? ''
  Sms__WebhookKey: '@Microsoft.KeyVault(SecretUri=${secretUris.smsWebhookKey})'
  Sms__WebOtpDomain: sms.?webOtpDomain ?? ''
  Sms__ApiVersion: sms.?apiVersion ?? ''
  Sms__RequestTimeout: sms.?requestTimeout ?? ''
  Sms__MaxSendAttempts: sms.?maxSendAttempts ?? ''

  // Email through the same Communication Services resource and identity; on once Email:From is given (an address of
  // a domain linked to the resource). Its delivery reports use the SMS reports' webhook and key.
  Email__Endpoint: emailOn ? communicationEndpoint : ''
  Email__ManagedIdentityClientId: identityClientId
  Email__From: email.?from ?? ''
  Email__ApiVersion: email.?apiVersion ?? ''
  Email__RequestTimeout: email.?requestTimeout ?? ''
  Email__MaxSendAttempts: email.?maxSendAttempts ?? ''

  Abuse__AllowedCountries: abuse.?allowedCountries ?? ''
  Abuse__BlockedCountries: abuse.?blockedCountries ?? ''
  Abuse__AllowedNumberTypes: abuse.?allowedNumberTypes ?? ''
  Abuse__StartsPerNumber__Limit: abuse.?startsPerNumber.?limit ?? ''
  Abuse__StartsPerNumber__Window: abuse.?startsPerNumber.?window ?? ''
  Abuse__StartsPerNumberDaily__Limit: abuse.?startsPerNumberDaily.?limit ?? ''
  Abuse__StartsPerNumberDaily__Window: abuse.?startsPerNumberDaily.?window ?? ''
  Abuse__SmsPerNumber__Limit: abuse.?smsPerNumber.?limit ?? ''
  Abuse__SmsPerNumber__Window: abuse.?smsPerNumber.?window ?? ''
  Abuse__FailedChecksPerNumber__Limit: abuse.?failedChecksPerNumber.?limit ?? ''
  Abuse__FailedChecksPerNumber__Window: abuse.?failedChecksPerNumber.?window ?? ''
  Abuse__StartsPerClient__Limit: abuse.?startsPerClient.?limit ?? ''
  Abuse__StartsPerClient__Window: abuse.?startsPerClient.?window ?? ''
  Abuse__EmailPerAddress__Limit: abuse.?emailPerAddress.?limit ?? ''
  Abuse__EmailPerAddress__Window: abuse.?emailPerAddress.?window ?? ''
  Abuse__DisposableEmailDomains: abuse.?disposableEmailDomains ?? ''
  Abuse__SmsPerCountryPerHour: abuse.?smsPerCountryPerHour ?? ''
}

// One setting per country override: Abuse__SmsPerCountryPerHourByCountry__IN = 5000.
var smsBudgetOverrides = toObject(
  items(abuse.?smsPerCountryPerHourByCountry ?? {}),
  entry => 'Abuse__SmsPerCountryPerHourByCountry__${toUpper(entry.key)}',
  entry => string(entry.value)
)

// One setting per country's channel plan: Verification__ChannelsByCountry__US = sms.
var channelsByCountry = toObject(
  items(verification.?channelsByCountry ?? {}),
  entry => 'Verification__ChannelsByCountry__${toUpper(entry.key)}',
  entry => entry.value
)

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    // No ftpsState or http20Enabled: ARM refuses FtpsState on Flex Consumption where it is enforced (51021), and
    // Microsoft's Flex templates set neither; FTP is off through the basic publishing credentials policies instead.
    siteConfig: {
      minTlsVersion: '1.2'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReady
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }

  // Deployments go through azd with Entra ID; the publishing profile's user name and password are not accepted.
  resource scmBasicAuth 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }

  resource ftpBasicAuth 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: {
      allow: false
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: union(appSettings, smsBudgetOverrides, channelsByCountry)
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
output storageAccountName string = storageAccountName
