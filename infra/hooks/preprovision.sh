#!/bin/sh
# azd preprovision hook: makes Verification:CodeKey, Sms:WebhookKey and Callbacks:SigningKey the first time only.
# A key the vault already holds is kept: the parameter is left empty and the deployment does not touch the secret
# (a new CodeKey would invalidate every verification in flight, and every stored phone number with it). It fails
# closed: when it cannot tell whether the vault holds a key, it stops instead of making a new one.
# Needs the Azure CLI (az), signed in as the same account as azd, and openssl.
set -eu

fail() { echo "preprovision: $*" >&2; exit 1; }

command -v az >/dev/null 2>&1 || fail "the Azure CLI (az) is needed: https://learn.microsoft.com/cli/azure/install-azure-cli"
command -v openssl >/dev/null 2>&1 || fail "openssl is needed to make the keys"

env_name=$(azd env get-value AZURE_ENV_NAME 2>/dev/null || true)
vault=$(azd env get-value AZURE_KEY_VAULT_NAME 2>/dev/null || true)
# Every Azure Resource Manager call names azd's subscription: az's own selection may be another one, where the
# resource group does not exist (and new keys would replace the vault's).
# azd's own value first: a stale AZURE_SUBSCRIPTION_ID exported in this shell must not win over it.
subscription=$(azd env get-value AZURE_SUBSCRIPTION_ID 2>/dev/null || true)
[ -n "$subscription" ] || subscription=${AZURE_SUBSCRIPTION_ID:-}
[ -n "$subscription" ] || fail "AZURE_SUBSCRIPTION_ID is not set in this azd environment; nothing was changed"

if [ -z "$vault" ]; then
  # A fresh environment, or one whose values were lost (another machine): only the first may make keys.
  exists=$(az group exists --name "rg-$env_name" --subscription "$subscription" --output tsv) \
    || fail "cannot ask Azure whether rg-$env_name exists (is az signed in?); nothing was changed"
  case "$exists" in
    true) fail "rg-$env_name exists but this environment does not know its Key Vault: run 'azd env refresh' first, so the keys in it are kept" ;;
    false) ;;
    *) fail "az answered '$exists' when asked whether rg-$env_name exists; nothing was changed" ;;
  esac
else
  az keyvault show --name "$vault" --subscription "$subscription" --query name --output tsv >/dev/null || fail "cannot read Key Vault $vault (is az signed in as the account azd uses?); nothing was changed"
fi

ensure() { # ensure ENV_NAME SECRET_NAME KIND
  held=0
  if [ -n "$vault" ]; then
    held=$(az keyvault secret list --vault-name "$vault" --subscription "$subscription" --query "length([?name=='$2'])" --output tsv) \
      || fail "cannot list the secrets of $vault (az needs the Key Vault Secrets Officer role azd's account was given); nothing was changed"
  fi

  if [ "$held" != "0" ]; then
    azd env set "$1" ""
    echo "preprovision: $2 is in $vault; kept"
  elif [ -z "$(azd env get-value "$1" 2>/dev/null || true)" ]; then
    case "$3" in
      base64) key=$(openssl rand -base64 32) ;;
      whsec) key="whsec_$(openssl rand -base64 32)" ;;
      *) key=$(openssl rand -hex 32) ;;
    esac
    azd env set "$1" "$key"
    echo "preprovision: $2 generated; the deployment writes it to the vault"
  fi
}

ensure OTPFAILOVER_CODE_KEY verification-code-key base64
ensure OTPFAILOVER_SMS_WEBHOOK_KEY sms-webhook-key hex
ensure OTPFAILOVER_CALLBACK_SIGNING_KEY callback-signing-key whsec
