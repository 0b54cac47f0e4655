#!/bin/sh
# azd postdeploy hook: subscribes the app's SMS delivery-report webhook to the Communication Services Event Grid topic
# (Event Grid validates the endpoint, so this runs once the code is deployed), then prints what is left to do by hand.
# Safe to run again: the subscription is created or updated in place. Needs the Azure CLI (az) signed in.
set -eu

value() { azd env get-value "$1"; }

group=$(value AZURE_RESOURCE_GROUP)
topic=$(value AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME)
vault=$(value AZURE_KEY_VAULT_NAME)
app=$(value AZURE_FUNCTION_APP_NAME)
sms_url=$(value SMS_WEBHOOK_URL)
key=$(az keyvault secret show --vault-name "$vault" --name "$(value SMS_WEBHOOK_KEY_SECRET)" --query value --output tsv)

subscribe() { # subscribe ENDPOINT [extra az arguments]
  endpoint=$1
  shift
  az eventgrid system-topic event-subscription create \
    --name sms-delivery-reports \
    --resource-group "$group" \
    --system-topic-name "$topic" \
    --endpoint-type webhook \
    --endpoint "$endpoint" \
    --event-delivery-schema eventgridschema \
    --included-event-types Microsoft.Communication.SMSDeliveryReportReceived \
    --max-delivery-attempts 30 \
    --event-ttl 1440 \
    "$@" \
    --output none
}

echo "postdeploy: subscribing $sms_url to SMS delivery reports"
if ! subscribe "$sms_url" --delivery-attribute-mapping X-Webhook-Key static "$key" true; then
  # The key as a secret header is preferred; should the validation handshake be refused without it, the key goes in
  # the endpoint's query string instead (Event Grid never shows an endpoint's query string back).
  echo "postdeploy: subscribing with the key as a header failed; trying with it in the query string"
  subscribe "$sms_url?key=$key"
fi

cat <<TEXT

OtpFailover is deployed.

  API           $(value API_BASE_URL)/verifications
  function key  az functionapp keys list --resource-group $group --name $app --query functionKeys.default --output tsv

Left to do by hand (README, "Deploy to Azure"):
  1. Meta's app dashboard, WhatsApp > Configuration > Webhook:
       Callback URL  $(value WHATSAPP_WEBHOOK_URL)
       Verify token  az keyvault secret show --vault-name $vault --name $(value WHATSAPP_VERIFY_TOKEN_SECRET) --query value --output tsv
     and subscribe to the "messages" field.
  2. Communication Services ($(value AZURE_COMMUNICATION_SERVICES_NAME)): buy a number that can send SMS, then
       azd env set SMS_FROM +1...   and   azd provision
TEXT
