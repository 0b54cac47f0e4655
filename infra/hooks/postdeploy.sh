#!/bin/sh
# azd postdeploy hook: subscribes the app's SMS delivery-report webhook to the Communication Services Event Grid topic
# (Event Grid validates the endpoint, so this runs once the code is deployed), then prints what is left to do by hand.
# Safe to run again (azd hooks run postdeploy): the subscription is created or updated in place.
# Needs the Azure CLI (az) signed in as azd's account.
set -eu

value() { azd env get-value "$1"; }

# Right after a first deployment, role assignments may not have reached every service yet, and the app may still be
# starting: each step is tried for a few minutes before the hook gives up.
retry() {
  attempt=1
  wait=${OTPFAILOVER_HOOK_RETRY_SECONDS:-30}
  until "$@"; do
    [ "$attempt" -lt 8 ] || return 1
    echo "postdeploy: not yet (attempt $attempt); trying again in $wait s" >&2
    attempt=$((attempt + 1))
    sleep "$wait"
  done
}

# Every Azure Resource Manager call names azd's subscription, not whichever one az has selected.
# azd's own value first: a stale AZURE_SUBSCRIPTION_ID exported in this shell must not win over it.
subscription=$(azd env get-value AZURE_SUBSCRIPTION_ID 2>/dev/null || true)
[ -n "$subscription" ] || subscription=${AZURE_SUBSCRIPTION_ID:-}
[ -n "$subscription" ] || { echo "postdeploy: AZURE_SUBSCRIPTION_ID is not set in this azd environment" >&2; exit 1; }
group=$(value AZURE_RESOURCE_GROUP)
topic=$(value AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME)
vault=$(value AZURE_KEY_VAULT_NAME)
app=$(value AZURE_FUNCTION_APP_NAME)
sms_url=$(value SMS_WEBHOOK_URL)
key_secret=$(value SMS_WEBHOOK_KEY_SECRET)

read_key() { key=$(az keyvault secret show --vault-name "$vault" --subscription "$subscription" --name "$key_secret" --query value --output tsv) && [ -n "$key" ]; }
retry read_key || { echo "postdeploy: cannot read $key_secret from $vault" >&2; exit 1; }

subscribe() {
  az eventgrid system-topic event-subscription create \
    --name sms-delivery-reports \
    --subscription "$subscription" \
    --resource-group "$group" \
    --system-topic-name "$topic" \
    --endpoint-type webhook \
    --endpoint "$sms_url" \
    --event-delivery-schema eventgridschema \
    --included-event-types Microsoft.Communication.SMSDeliveryReportReceived Microsoft.Communication.EmailDeliveryReportReceived \
    --max-delivery-attempts 30 \
    --event-ttl 1440 \
    --delivery-attribute-mapping X-Webhook-Key static "$key" true \
    --output none
}

echo "postdeploy: subscribing $sms_url to SMS and email delivery reports"
retry subscribe || {
  echo "postdeploy: Event Grid could not validate $sms_url. Check that the app started (its log names any setting it refused), then run: azd hooks run postdeploy" >&2
  exit 1
}

cat <<TEXT

OtpFailover is deployed.

  API           $(value API_BASE_URL)/verifications
  function key  az functionapp keys list --subscription $subscription --resource-group $group --name $app --query functionKeys.default --output tsv

Left to do by hand (README, "Deploy to Azure"):
  1. Meta's app dashboard, WhatsApp > Configuration > Webhook:
       Callback URL  $(value WHATSAPP_WEBHOOK_URL)
       Verify token  az keyvault secret show --vault-name $vault --subscription $subscription --name $(value WHATSAPP_VERIFY_TOKEN_SECRET) --query value --output tsv
     and subscribe to the "messages" field.
  2. Communication Services ($(value AZURE_COMMUNICATION_SERVICES_NAME)): buy a number that can send SMS, then
       azd env set SMS_FROM +1...   and   azd provision
TEXT
