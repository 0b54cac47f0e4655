# azd postdeploy hook: subscribes the app's SMS delivery-report webhook to the Communication Services Event Grid topic
# (Event Grid validates the endpoint, so this runs once the code is deployed), then prints what is left to do by hand.
# Safe to run again: the subscription is created or updated in place. Needs the Azure CLI (az) signed in.
$ErrorActionPreference = 'Stop'

function Get-Value([string] $name) { (azd env get-value $name).Trim() }

$group = Get-Value AZURE_RESOURCE_GROUP
$topic = Get-Value AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME
$vault = Get-Value AZURE_KEY_VAULT_NAME
$app = Get-Value AZURE_FUNCTION_APP_NAME
$smsUrl = Get-Value SMS_WEBHOOK_URL
$key = az keyvault secret show --vault-name $vault --name (Get-Value SMS_WEBHOOK_KEY_SECRET) --query value --output tsv

function Add-Subscription([string] $endpoint, [string[]] $extra) {
    az eventgrid system-topic event-subscription create `
        --name sms-delivery-reports `
        --resource-group $group `
        --system-topic-name $topic `
        --endpoint-type webhook `
        --endpoint $endpoint `
        --event-delivery-schema eventgridschema `
        --included-event-types Microsoft.Communication.SMSDeliveryReportReceived `
        --max-delivery-attempts 30 `
        --event-ttl 1440 `
        @extra `
        --output none
    return $LASTEXITCODE -eq 0
}

Write-Host "postdeploy: subscribing $smsUrl to SMS delivery reports"
if (-not (Add-Subscription $smsUrl @('--delivery-attribute-mapping', 'X-Webhook-Key', 'static', $key, 'true'))) {
    # The key as a secret header is preferred; should the validation handshake be refused without it, the key goes in
    # the endpoint's query string instead (Event Grid never shows an endpoint's query string back).
    Write-Host 'postdeploy: subscribing with the key as a header failed; trying with it in the query string'
    if (-not (Add-Subscription "$($smsUrl)?key=$key" @())) { throw 'postdeploy: could not subscribe to SMS delivery reports' }
}

Write-Host @"

OtpFailover is deployed.

  API           $(Get-Value API_BASE_URL)/verifications
  function key  az functionapp keys list --resource-group $group --name $app --query functionKeys.default --output tsv

Left to do by hand (README, "Deploy to Azure"):
  1. Meta's app dashboard, WhatsApp > Configuration > Webhook:
       Callback URL  $(Get-Value WHATSAPP_WEBHOOK_URL)
       Verify token  az keyvault secret show --vault-name $vault --name $(Get-Value WHATSAPP_VERIFY_TOKEN_SECRET) --query value --output tsv
     and subscribe to the "messages" field.
  2. Communication Services ($(Get-Value AZURE_COMMUNICATION_SERVICES_NAME)): buy a number that can send SMS, then
       azd env set SMS_FROM +1...   and   azd provision
"@
