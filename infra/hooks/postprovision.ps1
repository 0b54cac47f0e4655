# azd postprovision hook: once a secret is in Key Vault, its copy in the azd environment (.azure/<env>/.env, plain
# text on this machine) is emptied. An empty value leaves the vault as it is on the next provision, so a secret
# rotated in the vault is never overwritten by an old copy. Needs PowerShell 7 and the Azure CLI (az).
$ErrorActionPreference = 'Stop'

$vault = "$(azd env get-value AZURE_KEY_VAULT_NAME)".Trim()
# The vault is found in azd's subscription (az's own selection may be in another tenant).
$subscription = "$(azd env get-value AZURE_SUBSCRIPTION_ID 2>$null)".Trim()
if ($LASTEXITCODE -ne 0 -or -not $subscription) { $subscription = "$env:AZURE_SUBSCRIPTION_ID" }
$subscriptionArgs = if ($subscription) { @('--subscription', $subscription) } else { @() }

function Clear-Copy([string] $envName, [string] $secretName) {
    $value = azd env get-value $envName 2>$null
    if ($LASTEXITCODE -ne 0 -or -not "$value".Trim()) { return }
    $held = az keyvault secret list --vault-name $vault @subscriptionArgs --query "length([?name=='$secretName'])" --output tsv
    if ($LASTEXITCODE -ne 0) {
        Write-Warning "postprovision: could not check $secretName in $vault; $envName is left in the azd environment"
        return
    }
    if ($held -ne '0') {
        azd env set $envName ''
        Write-Host "postprovision: $secretName is in $vault; removed from the azd environment"
    }
}

Clear-Copy 'OTPFAILOVER_CODE_KEY' 'verification-code-key'
Clear-Copy 'OTPFAILOVER_SMS_WEBHOOK_KEY' 'sms-webhook-key'
Clear-Copy 'OTPFAILOVER_CALLBACK_SIGNING_KEY' 'callback-signing-key'
Clear-Copy 'WHATSAPP_ACCESS_TOKEN' 'whatsapp-access-token'
Clear-Copy 'WHATSAPP_APP_SECRET' 'whatsapp-app-secret'
Clear-Copy 'WHATSAPP_VERIFY_TOKEN' 'whatsapp-verify-token'
