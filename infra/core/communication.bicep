// Azure Communication Services for the SMS channel, reached by the app's identity (no access key in any setting),
// and the Event Grid system topic its SMS delivery reports are published on. The topic's subscription to the app's
// webhook is made by the postdeploy hook: Event Grid validates the endpoint when the subscription is created, so
// the code must be deployed first.

param name string

param systemTopicName string

param tags object = {}

@description('Where Communication Services keeps its data at rest.')
param dataLocation string

@description('Name of the Function App\'s user-assigned identity (in this resource group): it sends SMS.')
param identityName string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

resource communication 'Microsoft.Communication/communicationServices@2023-04-01' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    dataLocation: dataLocation
  }
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

// Communication Services has no narrower built-in role that allows sending SMS with Entra ID; its own guidance is
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
