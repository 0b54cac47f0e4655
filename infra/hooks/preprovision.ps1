# azd preprovision hook: makes Verification:CodeKey and Sms:WebhookKey the first time only.
# A key the vault already holds is kept: the parameter is left empty and the deployment does not touch the secret
# (a new CodeKey would invalidate every verification in flight). Needs the Azure CLI (az) signed in.
$ErrorActionPreference = 'Stop'

$vault = (azd env get-value AZURE_KEY_VAULT_NAME 2>$null)
if ($LASTEXITCODE -ne 0) { $vault = '' }

function Test-InVault([string] $name) {
    if (-not $vault) { return $false }
    az keyvault secret show --vault-name $vault --name $name --query id --output tsv 2>$null | Out-Null
    return $LASTEXITCODE -eq 0
}

function Confirm-Key([string] $envName, [string] $secretName, [int] $bytes) {
    if (Test-InVault $secretName) {
        azd env set $envName ''
        Write-Host "preprovision: $secretName is in $vault; kept"
        return
    }
    $current = (azd env get-value $envName 2>$null)
    if ($LASTEXITCODE -ne 0 -or -not $current) {
        $random = [byte[]]::new($bytes)
        [System.Security.Cryptography.RandomNumberGenerator]::Fill($random)
        azd env set $envName ([Convert]::ToBase64String($random))
        Write-Host "preprovision: $secretName generated; the deployment writes it to the vault"
    }
}

Confirm-Key 'OTPFAILOVER_CODE_KEY' 'verification-code-key' 32
Confirm-Key 'OTPFAILOVER_SMS_WEBHOOK_KEY' 'sms-webhook-key' 32
