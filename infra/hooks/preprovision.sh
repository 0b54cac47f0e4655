#!/bin/sh
# azd preprovision hook: makes Verification:CodeKey and Sms:WebhookKey the first time only.
# A key the vault already holds is kept: the parameter is left empty and the deployment does not touch the secret
# (a new CodeKey would invalidate every verification in flight). Needs the Azure CLI (az) signed in, and openssl.
set -eu

vault=$(azd env get-value AZURE_KEY_VAULT_NAME 2>/dev/null || true)

in_vault() {
  [ -n "$vault" ] && az keyvault secret show --vault-name "$vault" --name "$1" --query id --output tsv >/dev/null 2>&1
}

ensure() { # ensure ENV_NAME SECRET_NAME BYTES
  if in_vault "$2"; then
    azd env set "$1" ""
    echo "preprovision: $2 is in $vault; kept"
  elif [ -z "$(azd env get-value "$1" 2>/dev/null || true)" ]; then
    azd env set "$1" "$(openssl rand -base64 "$3")"
    echo "preprovision: $2 generated; the deployment writes it to the vault"
  fi
}

ensure OTPFAILOVER_CODE_KEY verification-code-key 32
ensure OTPFAILOVER_SMS_WEBHOOK_KEY sms-webhook-key 32
