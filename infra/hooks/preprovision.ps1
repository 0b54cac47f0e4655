# azd preprovision hook: makes Verification:CodeKey, Sms:WebhookKey and Callbacks:SigningKey the first time only.
# A key the vault already holds is kept: the parameter is left empty and the deployment does not touch the secret
# (a new CodeKey would invalidate every verification in flight, and every stored phone number with it). It fails
# closed: when it cannot tell whether the vault holds a key, it stops instead of making a new one.
# Needs PowerShell 7 and the Azure CLI (az), signed in as the same account as azd.
$ErrorActionPreference = 'Stop'

function Fail([string] $message) { Write-Error "preprovision: $message"; exit 1 }
function Get-EnvValue([string] $name) {
    $value = azd env get-value $name 2>$null
    if ($LASTEXITCODE -ne 0) { return '' }
    return "$value".Trim()
}

if (-not (Get-Command az -ErrorAction SilentlyContinue)) { Fail 'the Azure CLI (az) is needed: https://learn.microsoft.com/cli/azure/install-azure-cli' }

$envName = Get-EnvValue AZURE_ENV_NAME
$vault = Get-EnvValue AZURE_KEY_VAULT_NAME
# Every Azure Resource Manager call names azd's subscription: az's own selection may be another one, where the
# resource group does not exist (and new keys would replace the vault's).
# azd's own value first: a stale AZURE_SUBSCRIPTION_ID in this shell must not win over it.
$subscription = Get-EnvValue AZURE_SUBSCRIPTION_ID
if (-not $subscription) { $subscription = "$env:AZURE_SUBSCRIPTION_ID" }
if (-not $subscription) { Fail 'AZURE_SUBSCRIPTION_ID is not set in this azd environment; nothing was changed' }

if (-not $vault) {
    # A fresh environment, or one whose values were lost (another machine): only the first may make keys.
    $exists = az group exists --name "rg-$envName" --subscription $subscription --output tsv
    if ($LASTEXITCODE -ne 0) { Fail "cannot ask Azure whether rg-$envName exists (is az signed in?); nothing was changed" }
    if ($exists -eq 'true') { Fail "rg-$envName exists but this environment does not know its Key Vault: run 'azd env refresh' first, so the keys in it are kept" }
    if ($exists -ne 'false') { Fail "az answered '$exists' when asked whether rg-$envName exists; nothing was changed" }
}
else {
    az keyvault show --name $vault --subscription $subscription --query name --output tsv | Out-Null
    if ($LASTEXITCODE -ne 0) { Fail "cannot read Key Vault $vault (is az signed in as the account azd uses?); nothing was changed" }
}

function Confirm-Key([string] $envName, [string] $secretName, [string] $kind) {
    $held = '0'
    if ($vault) {
        $held = az keyvault secret list --vault-name $vault --subscription $subscription --query "length([?name=='$secretName'])" --output tsv
        if ($LASTEXITCODE -ne 0) { Fail "cannot list the secrets of $vault (az needs the Key Vault Secrets Officer role azd's account was given); nothing was changed" }
    }

    if ($held -ne '0') {
        azd env set $envName ''
        Write-Host "preprovision: $secretName is in $vault; kept"
    }
    elseif (-not (Get-EnvValue $envName)) {
        $random = [System.Security.Cryptography.RandomNumberGenerator]::GetBytes(32)
        $key = switch ($kind) {
            'base64' { [Convert]::ToBase64String($random) }
            'whsec' { 'whsec_' + [Convert]::ToBase64String($random) }
            default { [Convert]::ToHexString($random).ToLowerInvariant() }
        }
        azd env set $envName $key
        Write-Host "preprovision: $secretName generated; the deployment writes it to the vault"
    }
}

Confirm-Key 'OTPFAILOVER_CODE_KEY' 'verification-code-key' 'base64'
Confirm-Key 'OTPFAILOVER_SMS_WEBHOOK_KEY' 'sms-webhook-key' 'hex'
Confirm-Key 'OTPFAILOVER_CALLBACK_SIGNING_KEY' 'callback-signing-key' 'whsec'
