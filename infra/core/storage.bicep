// The storage account of the Functions host, the durable task hub and the app's own tables. Reached by identity only.

@description('Name of the storage account (3-24 lower-case letters and digits).')
param name string

param location string

param tags object = {}

@description('Blob container the Flex Consumption plan deploys the app package from.')
param deploymentContainerName string

@description('Name of the Function App\'s user-assigned identity (in this resource group).')
param identityName string

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: identityName
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    // Keys are off: the host and the app reach the account by managed identity only.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    accessTier: 'Hot'
  }

  resource blobServices 'blobServices' = {
    name: 'default'

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
    }
  }
}

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

var roles = [
  // Blob Data Owner, not Contributor: the host takes blob leases (durable partitions, singletons) and the Flex
  // Consumption plan reads the deployment package.
  storageBlobDataOwner
  // The durable task hub's control and work-item queues.
  storageQueueDataContributor
  // The task hub's history and instances tables, and the app's verifications and usage tables.
  storageTableDataContributor
]

resource assignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in roles: {
    name: guid(storage.id, identityName, role)
    scope: storage
    properties: {
      principalId: identity.properties.principalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
    }
  }
]

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
