# azd postdeploy hook: subscribes the app's SMS delivery-report webhook to the Communication Services Event Grid topic
# (Event Grid validates the endpoint, so this runs once the code is deployed), then prints what is left to do by hand.
# Safe to run again (azd hooks run postdeploy): the subscription is created or updated in place.
# Needs PowerShell 7 and the Azure CLI (az) signed in as azd's account.
$ErrorActionPreference = 'Stop'

function Get-Value([string] $name) { "$(azd env get-value $name)".Trim() }

# Right after a first deployment, role assignments may not have reached every service yet, and the app may still be
# starting: each step is tried for a few minutes before the hook gives up.
function Invoke-WithRetry([scriptblock] $step) {
    for ($attempt = 1; $attempt -le 8; $attempt++) {
        if (& $step) { return $true }
        if ($attempt -lt 8) {
            $wait = if ($env:OTPFAILOVER_HOOK_RETRY_SECONDS) { [int] $env:OTPFAILOVER_HOOK_RETRY_SECONDS } else { 30 }
            Write-Host "postdeploy: not yet (attempt $attempt); trying again in $wait s"
            Start-Sleep -Seconds $wait
        }
    }
    return $false
}

# Every Azure Resource Manager call names azd's subscription, not whichever one az has selected.
# azd's own value first: a stale AZURE_SUBSCRIPTION_ID in this shell must not win over it.
$subscription = "$(azd env get-value AZURE_SUBSCRIPTION_ID 2>$null)".Trim()
if ($LASTEXITCODE -ne 0 -or -not $subscription) { $subscription = "$env:AZURE_SUBSCRIPTION_ID" }
if (-not $subscription) { Write-Error 'postdeploy: AZURE_SUBSCRIPTION_ID is not set in this azd environment'; exit 1 }
$group = Get-Value AZURE_RESOURCE_GROUP
$topic = Get-Value AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME
$vault = Get-Value AZURE_KEY_VAULT_NAME
$app = Get-Value AZURE_FUNCTION_APP_NAME
$smsUrl = Get-Value SMS_WEBHOOK_URL
$keySecret = Get-Value SMS_WEBHOOK_KEY_SECRET

$script:key = ''
$read = Invoke-WithRetry {
    $script:key = az keyvault secret show --vault-name $vault --subscription $subscription --name $keySecret --query value --output tsv
    $LASTEXITCODE -eq 0 -and $script:key
}
if (-not $read) { Write-Error "postdeploy: cannot read $keySecret from $vault"; exit 1 }

Write-Host "postdeploy: subscribing $smsUrl to SMS and email delivery reports"
$subscribed = Invoke-WithRetry {
    az eventgrid system-topic event-subscription create `
        --name sms-delivery-reports `
        --subscription $subscription `
        --resource-group $group `
        --system-topic-name $topic `
        --endpoint-type webhook `
        --endpoint $smsUrl `
        --event-delivery-schema eventgridschema `
        --included-event-types Microsoft.Communication.SMSDeliveryReportReceived Microsoft.Communication.EmailDeliveryReportReceived `
        --max-delivery-attempts 30 `
        --event-ttl 1440 `
        --delivery-attribute-mapping X-Webhook-Key static $script:key true `
        --output none
    $LASTEXITCODE -eq 0
}
if (-not $subscribed) {
    Write-Error "postdeploy: Event Grid could not validate $smsUrl. Check that the app started (its log names any setting it refused), then run: azd hooks run postdeploy"
    exit 1
}

Write-Host @"

OtpFailover is deployed.

  API           $(Get-Value API_BASE_URL)/verifications
  function key  az functionapp keys list --subscription $subscription --resource-group $group --name $app --query functionKeys.default --output tsv

Left to do by hand (README, "Deploy to Azure"):
  1. Meta's app dashboard, WhatsApp > Configuration > Webhook:
       Callback URL  $(Get-Value WHATSAPP_WEBHOOK_URL)
       Verify token  az keyvault secret show --vault-name $vault --subscription $subscription --name $(Get-Value WHATSAPP_VERIFY_TOKEN_SECRET) --query value --output tsv
     and subscribe to the "messages" field.
  2. Communication Services ($(Get-Value AZURE_COMMUNICATION_SERVICES_NAME)): buy a number that can send SMS, then
       azd env set SMS_FROM +1...   and   azd provision
"@
