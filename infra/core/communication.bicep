// Azure Communication Services for the SMS and email channels, reached by the app's identity (no access key in any
// setting), and the Event Grid system topic its SMS and email delivery reports are published on. With email on, an
// Email Communication Service with an Azure-managed domain is linked to it (DoNotReply@<id>.azurecomm.net). The topic's subscription to the app's
// webhook is made by the postdeploy hook: Event Grid validates the endpoint when the subscription is created, so
// the code must be deployed first.

param name string

param systemTopicName string

param tags object = {}

@description('Where Communication Services keeps its data at rest.')
param dataLocation string

@description('Name of the Function App\'s user-assigned identity (in this resource group): it sends SMS and email.')
param identityName string

@description('Make an Email Communication Service with an Azure-managed domain, linked to the resource, for the email channel.')
param emailEnabled bool = false

@description('Name of the Email Communication Service made when email is on.')
param emailServiceName string

resource emailService 'Microsoft.Communication/emailServices@2023-04-01' = if (emailEnabled) {
  name: emailServiceName
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
}

// An Azure-managed domain needs no DNS: its sender is DoNotReply@ its mail-from domain. Engagement tracking stays off
// (it would rewrite the email with tracking links; a code email has none, and must not get any).
resource emailDomain 'Microsoft.Communication/emailServices/domains@2023-04-01' = if (emailEnabled) {
  parent: emailService
  name: 'AzureManagedDomain'
  location: 'global'
  tags: tags
  properties: {
    domainManagement: 'AzureManaged'
    userEngagementTracking: 'Disabled'
  }
}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: name
  location: 'global'
  tags: tags
  // With email on, Bicep owns the linked domains (its managed one); without, the property is left out, so a domain
  // linked by hand stays linked.
  properties: union({ dataLocation: dataLocation }, emailEnabled ? { linkedDomains: [emailDomain.id] } : {})
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: 'global'
  tags: tags
  properties: {
    source: communication.id
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

// Communication Services has no narrower built-in role that allows sending SMS and email with Entra ID; its own guidance is
// Contributor. It is scoped to this one resource, so the identity can change nothing else, but on this resource it
// could also read or regenerate its access keys (README › Deploy to Azure says so; a custom role can narrow it).
var contributor = 'b24988ac-6180-42a0-ab88-20f7382dd24c'

resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(communication.id, identityName, contributor)
  scope: communication
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', contributor)
  }
}

output name string = communication.name
output endpoint string = 'https://${communication.properties.hostName}'
output systemTopicName string = systemTopic.name
output emailFrom string = emailEnabled ? 'DoNotReply@${emailDomain!.properties.fromSenderDomain}' : ''
