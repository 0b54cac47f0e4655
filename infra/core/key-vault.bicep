// Key Vault in RBAC mode with the app's secrets. A secret is written only when its value is given: the preprovision
// hook gives Verification:CodeKey, Sms:WebhookKey and Callbacks:SigningKey once, when the vault does not hold them yet, so a later
// deployment never replaces them (a new CodeKey would invalidate every verification in flight). Rotate a secret by
// adding a version in the vault (README, "Deploy to Azure").

param name string

param location string

param tags object = {}

@description('Name of the Function App\'s user-assigned identity (in this resource group): it reads the secrets.')
param identityName string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

@description('Object id of whoever runs azd (may be empty): the hooks read and write the secrets.')
param deployerPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
param deployerPrincipalType string = 'User'

@secure()
param codeKey string = ''

@secure()
param smsWebhookKey string = ''

@secure()
param whatsAppAccessToken string = ''

@secure()
param whatsAppAppSecret string = ''

@secure()
param whatsAppVerifyToken string = ''

@secure()
param callbackSigningKey string = ''

@description('Names of the secrets, by the setting each one holds.')
var secretNames = {
  codeKey: 'verification-code-key'
  smsWebhookKey: 'sms-webhook-key'
  whatsAppAccessToken: 'whatsapp-access-token'
  whatsAppAppSecret: 'whatsapp-app-secret'
  whatsAppVerifyToken: 'whatsapp-verify-token'
  callbackSigningKey: 'callback-signing-key'
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
  }
}

resource codeKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(codeKey)) {
  parent: vault
  name: secretNames.codeKey
  properties: {
    value: codeKey
    contentType: 'Verification:CodeKey (Base64, 32 bytes)'
  }
}

resource smsWebhookKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(smsWebhookKey)) {
  parent: vault
  name: secretNames.smsWebhookKey
  properties: {
    value: smsWebhookKey
    contentType: 'Sms:WebhookKey'
  }
}

resource whatsAppAccessTokenSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(whatsAppAccessToken)) {
  parent: vault
  name: secretNames.whatsAppAccessToken
  properties: {
    value: whatsAppAccessToken
    contentType: 'WhatsApp:AccessToken'
  }
}

resource whatsAppAppSecretSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(whatsAppAppSecret)) {
  parent: vault
  name: secretNames.whatsAppAppSecret
  properties: {
    value: whatsAppAppSecret
    contentType: 'WhatsApp:AppSecret'
  }
}

resource whatsAppVerifyTokenSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(whatsAppVerifyToken)) {
  parent: vault
  name: secretNames.whatsAppVerifyToken
  properties: {
    value: whatsAppVerifyToken
    contentType: 'WhatsApp:VerifyToken'
  }
}

resource callbackSigningKeySecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(callbackSigningKey)) {
  parent: vault
  name: secretNames.callbackSigningKey
  properties: {
    value: callbackSigningKey
    contentType: 'Callbacks:SigningKey (whsec_, Standard Webhooks)'
  }
}

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

// The app resolves its @Microsoft.KeyVault(...) settings with its identity: read secrets, nothing else.
resource appReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identityName, keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
  }
}

// Whoever runs azd: the hooks check which secrets exist, read the webhook key for Event Grid, and rotate secrets.
resource deployerManagesSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(vault.id, deployerPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri

@description('Versionless secret URIs (the app always reads the latest version), by the setting each one holds.')
output secretUris object = {
  codeKey: '${vault.properties.vaultUri}secrets/${secretNames.codeKey}'
  smsWebhookKey: '${vault.properties.vaultUri}secrets/${secretNames.smsWebhookKey}'
  whatsAppAccessToken: '${vault.properties.vaultUri}secrets/${secretNames.whatsAppAccessToken}'
  whatsAppAppSecret: '${vault.properties.vaultUri}secrets/${secretNames.whatsAppAppSecret}'
  whatsAppVerifyToken: '${vault.properties.vaultUri}secrets/${secretNames.whatsAppVerifyToken}'
  callbackSigningKey: '${vault.properties.vaultUri}secrets/${secretNames.callbackSigningKey}'
}

output secretNames object = secretNames
