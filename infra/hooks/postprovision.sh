#!/bin/sh
# azd postprovision hook: once a secret is in Key Vault, its copy in the azd environment (.azure/<env>/.env, plain
# text on this machine) is emptied. An empty value leaves the vault as it is on the next provision, so a secret
# rotated in the vault is never overwritten by an old copy. Needs the Azure CLI (az) signed in as azd's account.
set -eu

vault=$(azd env get-value AZURE_KEY_VAULT_NAME)
# The vault is found in azd's subscription (az's own selection may be in another tenant).
subscription=$(azd env get-value AZURE_SUBSCRIPTION_ID 2>/dev/null || true)
[ -n "$subscription" ] || subscription=${AZURE_SUBSCRIPTION_ID:-}

forget() { # forget ENV_NAME SECRET_NAME
  [ -n "$(azd env get-value "$1" 2>/dev/null || true)" ] || return 0
  held=$(az keyvault secret list --vault-name "$vault" ${subscription:+--subscription "$subscription"} --query "length([?name=='$2'])" --output tsv) || {
    echo "postprovision: could not check $2 in $vault; $1 is left in the azd environment" >&2
    return 0
  }
  if [ "$held" != "0" ]; then
    azd env set "$1" ""
    echo "postprovision: $2 is in $vault; removed from the azd environment"
  fi
}

forget OTPFAILOVER_CODE_KEY verification-code-key
forget OTPFAILOVER_SMS_WEBHOOK_KEY sms-webhook-key
forget OTPFAILOVER_CALLBACK_SIGNING_KEY callback-signing-key
forget WHATSAPP_ACCESS_TOKEN whatsapp-access-token
forget WHATSAPP_APP_SECRET whatsapp-app-secret
forget WHATSAPP_VERIFY_TOKEN whatsapp-verify-token
