using System.Diagnostics;
using System.Text.RegularExpressions;
using OtpFailover.Tests.Infrastructure;

namespace OtpFailover.Tests.Deployment;

/// <summary>
/// The azd hooks, each run by <c>sh</c> (its <c>.sh</c>) and by PowerShell 7 (its <c>.ps1</c> twin, PowerShell being
/// the repository's .NET tool) against stand-in <c>azd</c> and <c>az</c> commands: a key is made once, kept while the
/// vault holds it, and never made when Azure cannot be asked; every Resource Manager call names azd's subscription.
/// </summary>
public sealed partial class HookTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("otpfailover-hooks-").FullName;

    public HookTests()
    {
        // azd: environment values in a file, one NAME=value per line.
        Write("azd", """
            #!/bin/sh
            file="$FAKE_HOME/env"
            touch "$file"
            case "$1 $2" in
              "env get-value") line=$(grep "^$3=" "$file" || true); [ -n "$line" ] || { echo "ERROR: key '$3' not found" >&2; exit 1; }; printf '%s\n' "${line#*=}" ;;
              "env set") grep -v "^$3=" "$file" > "$file.new" || true; printf '%s=%s\n' "$3" "$4" >> "$file.new"; mv "$file.new" "$file" ;;
              *) exit 2 ;;
            esac
            """);
        // az: the answers the test chose; every call is logged. az has its own selected subscription (not azd's): an
        // Azure Resource Manager call that does not name azd's subscription sees none of azd's resources.
        Write("az", """
            #!/bin/sh
            echo "$*" >> "$FAKE_HOME/az.log"
            [ "${FAKE_AZ_SIGNED_OUT:-0}" = 1 ] && { echo "ERROR: Please run 'az login' to setup account." >&2; exit 1; }
            case " $* " in *" --subscription sub-azd "*) azd_subscription=1 ;; *) azd_subscription=0 ;; esac
            case "$1 $2" in
              "group exists") if [ "$azd_subscription" = 1 ]; then echo "${FAKE_RG_EXISTS:-false}"; else echo false; fi ;;
              "keyvault show") [ "${FAKE_VAULT_OK:-0}" = 1 ] && [ "$azd_subscription" = 1 ] || { echo "ERROR: The Resource 'Microsoft.KeyVault/vaults' was not found" >&2; exit 1; } ;;
              "eventgrid system-topic") [ "$azd_subscription" = 1 ] || { echo "ERROR: (ResourceGroupNotFound) Resource group 'rg-otp' could not be found." >&2; exit 1; } ;;
              "keyvault secret")
                [ "${FAKE_VAULT_OK:-0}" = 1 ] && [ "$azd_subscription" = 1 ] || { echo "ERROR: unauthorized (or the vault is in another tenant)" >&2; exit 1; }
                name=$(printf '%s' "$*" | sed -n "s/.*name=='\([^']*\)'.*/\1/p")
                case " ${FAKE_SECRETS:-} " in *" $name "*) echo 1 ;; *) echo 0 ;; esac ;;
              *) exit 2 ;;
            esac
            """);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private void Write(string command, string script) => ChildProcesses.WriteExecutable(_folder, command, script);

    private void SetEnv(params (string Name, string Value)[] values) =>
        File.WriteAllLines(Path.Combine(_folder, "env"), values.Select(v => $"{v.Name}={v.Value}"));

    private Dictionary<string, string> Env() =>
        File.ReadAllLines(Path.Combine(_folder, "env")).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    /// <summary>Runs a hook (<c>preprovision</c>) in a shell: <c>sh</c> runs its <c>.sh</c>, <c>pwsh</c> its <c>.ps1</c> twin.</summary>
    private async Task<(int ExitCode, string Output)> RunAsync(string shell, string hook, params (string Name, string Value)[] variables)
    {
        Skip.If(OperatingSystem.IsWindows(), "the stand-in az and azd are sh scripts");
        ProcessStartInfo start;
        if (shell == "pwsh")
        {
            var restored = await PowerShell.Value;
            // In CI the PowerShell twins must run, not quietly skip.
            Assert.True(restored || Environment.GetEnvironmentVariable("CI") != "true", "PowerShell (the .NET tool in .config/dotnet-tools.json) could not be restored in CI");
            Skip.IfNot(restored, "PowerShell (the .NET tool in .config/dotnet-tools.json) could not be restored");
            start = new ProcessStartInfo("dotnet") { WorkingDirectory = ChildProcesses.RepositoryRoot };
            foreach (var argument in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", Path.Combine(Bicep.InfraFolder, "hooks", $"{hook}.ps1") })
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            start = new ProcessStartInfo("sh") { WorkingDirectory = ChildProcesses.RepositoryRoot };
            start.ArgumentList.Add(Path.Combine(Bicep.InfraFolder, "hooks", $"{hook}.sh"));
        }

        start.Environment["PATH"] = $"{_folder}:{Environment.GetEnvironmentVariable("PATH")}";
        start.Environment["FAKE_HOME"] = _folder;
        // azd hands every hook its environment's values, the subscription among them.
        start.Environment["AZURE_SUBSCRIPTION_ID"] = "sub-azd";
        start.Environment["OTPFAILOVER_HOOK_RETRY_SECONDS"] = "0";
        foreach (var (name, value) in variables)
        {
            start.Environment[name] = value;
        }

        return await ChildProcesses.RunAsync(start, TimeSpan.FromMinutes(2));
    }

    /// <summary>PowerShell 7 as the repository's .NET tool (restored once per test run); false when it cannot be had.</summary>
    private static readonly Lazy<Task<bool>> PowerShell = new(async () =>
    {
        var restore = new ProcessStartInfo("dotnet", "tool restore") { WorkingDirectory = ChildProcesses.RepositoryRoot };
        return (await ChildProcesses.RunAsync(restore, TimeSpan.FromMinutes(5))).ExitCode == 0;
    });

    [SkippableTheory]
    [InlineData("sh")]
    [InlineData("pwsh")]
    public async Task AFreshEnvironment_GetsANewCodeKey_WebhookKey_AndCallbackSigningKey(string shell)
    {
        SetEnv(("AZURE_ENV_NAME", "otp"));

        var (exitCode, output) = await RunAsync(shell, "preprovision");

        Assert.True(exitCode == 0, output);
        var env = Env();
        Assert.Equal(32, Convert.FromBase64String(env["OTPFAILOVER_CODE_KEY"]).Length);
        Assert.Matches(HexKey(), env["OTPFAILOVER_SMS_WEBHOOK_KEY"]);
        var signing = new OtpFailover.Callbacks.CallbackOptions { SigningKey = env["OTPFAILOVER_CALLBACK_SIGNING_KEY"] };
        var validation = new OtpFailover.Callbacks.CallbackOptionsValidator(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()).Validate(null, signing);
        Assert.True(validation.Succeeded, validation.FailureMessage);
    }

    [SkippableTheory]
    [InlineData("sh")]
    [InlineData("pwsh")]
    public async Task KeysTheVaultHolds_AreKept_AndNeverPassedAgain(string shell)
    {
        SetEnv(("AZURE_ENV_NAME", "otp"), ("AZURE_KEY_VAULT_NAME", "kv-otp"), ("OTPFAILOVER_CODE_KEY", "a-stale-copy"));

        var (exitCode, output) = await RunAsync(shell, "preprovision", ("FAKE_VAULT_OK", "1"), ("FAKE_SECRETS", "verification-code-key sms-webhook-key callback-signing-key"));

        Assert.True(exitCode == 0, output);
        Assert.Equal("", Env()["OTPFAILOVER_CODE_KEY"]);
        Assert.Equal("", Env()["OTPFAILOVER_SMS_WEBHOOK_KEY"]);
        Assert.Equal("", Env()["OTPFAILOVER_CALLBACK_SIGNING_KEY"]);
    }

    [SkippableTheory]
    [InlineData("sh")]
    [InlineData("pwsh")]
    public async Task AVaultItCannotRead_StopsIt_WithoutMakingAKey(string shell)
    {
        SetEnv(("AZURE_ENV_NAME", "otp"), ("AZURE_KEY_VAULT_NAME", "kv-otp"));

        var (exitCode, output) = await RunAsync(shell, "preprovision", ("FAKE_VAULT_OK", "0"));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("cannot read Key Vault kv-otp", output, StringComparison.Ordinal);
        Assert.False(Env().ContainsKey("OTPFAILOVER_CODE_KEY"));
    }

    [SkippableTheory]
    [InlineData("sh")]
    [InlineData("pwsh")]
    public async Task AnEnvironmentThatLostItsVault_WhileItsResourceGroupExists_StopsIt_WithoutMakingAKey(string shell)
    {
        SetEnv(("AZURE_ENV_NAME", "otp"));

        var (exitCode, output) = await RunAsync(shell, "preprovision", ("FAKE_RG_EXISTS", "true"));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("azd env refresh", output, StringComparison.Ordinal);
        Assert.False(Env().ContainsKey("OTPFAILOVER_CODE_KEY"));
    }

    [SkippableTheory]
    [InlineData("sh")]
    [InlineData("pwsh")]
    public async Task AfterProvisioning_CopiesOfSecretsTheVaultHolds_LeaveTheAzdEnvironment(string shell)
    {
        SetEnv(("AZURE_KEY_VAULT_NAME", "kv-otp"), ("OTPFAILOVER_CODE_KEY", "key"), ("WHATSAPP_ACCESS_TOKEN", "token"), ("WHATSAPP_APP_SECRET", "not-written"));

        var (exitCode, output) = await RunAsync(shell, "postprovision", ("FAKE_VAULT_OK", "1"), ("FAKE_SECRETS", "verification-code-key whatsapp-access-token"));

        Assert.True(exitCode == 0, output);
        var env = Env();
        Assert.Equal("", env["OTPFAILOVER_CODE_KEY"]);
        Assert.Equal("", env["WHATSAPP_ACCESS_TOKEN"]);
        Assert.Equal("not-written", env["WHATSAPP_APP_SECRET"]);
    }

    [SkippableTheory]
    [InlineData("sh")]
    [InlineData("pwsh")]
    public async Task ASignedOutAz_StopsPreprovision_WithoutMakingAKey(string shell)
    {
        // az group exists failing used to read as "no such group": new keys, and the vault's replaced on deploy.
        SetEnv(("AZURE_ENV_NAME", "otp"));

        var (exitCode, output) = await RunAsync(shell, "preprovision", ("FAKE_AZ_SIGNED_OUT", "1"), ("FAKE_RG_EXISTS", "true"));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("cannot ask Azure whether rg-otp exists", output, StringComparison.Ordinal);
        Assert.False(Env().ContainsKey("OTPFAILOVER_CODE_KEY"));
    }

    [SkippableTheory]
    [InlineData("sh")]
    [InlineData("pwsh")]
    public async Task WithAzOnAnotherSubscription_PreprovisionStillSeesAzdsResourceGroup_AndMakesNoKey(string shell)
    {
        SetEnv(("AZURE_ENV_NAME", "otp"));

        var (exitCode, output) = await RunAsync(shell, "preprovision", ("FAKE_RG_EXISTS", "true"));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("azd env refresh", output, StringComparison.Ordinal);
        Assert.False(Env().ContainsKey("OTPFAILOVER_CODE_KEY"));
        Assert.All(ArmCalls(), call => Assert.Contains("--subscription sub-azd", call, StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData("sh")]
    [InlineData("pwsh")]
    public async Task WithAzOnAnotherSubscription_PostdeploySubscribesTheWebhook_InAzdsSubscription(string shell)
    {
        SetEnv(
            ("AZURE_RESOURCE_GROUP", "rg-otp"), ("AZURE_EVENT_GRID_SYSTEM_TOPIC_NAME", "evgt-otp"), ("AZURE_KEY_VAULT_NAME", "kv-otp"),
            ("AZURE_FUNCTION_APP_NAME", "func-otp"), ("SMS_WEBHOOK_URL", "https://func-otp.azurewebsites.net/api/webhooks/acs"),
            ("SMS_WEBHOOK_KEY_SECRET", "sms-webhook-key"), ("API_BASE_URL", "https://func-otp.azurewebsites.net/api"),
            ("WHATSAPP_WEBHOOK_URL", "https://func-otp.azurewebsites.net/api/webhooks/whatsapp"), ("WHATSAPP_VERIFY_TOKEN_SECRET", "whatsapp-verify-token"),
            ("AZURE_COMMUNICATION_SERVICES_NAME", "acs-otp"));

        var (exitCode, output) = await RunAsync(shell, "postdeploy", ("FAKE_VAULT_OK", "1"));

        Assert.True(exitCode == 0, output);
        var subscribe = Assert.Single(ArmCalls(), call => call.StartsWith("eventgrid system-topic event-subscription create", StringComparison.Ordinal));
        Assert.Contains("--included-event-types Microsoft.Communication.SMSDeliveryReportReceived Microsoft.Communication.EmailDeliveryReportReceived ", subscribe, StringComparison.Ordinal);
        Assert.All(ArmCalls(), call => Assert.Contains("--subscription sub-azd", call, StringComparison.Ordinal));
        Assert.Contains("az functionapp keys list --subscription sub-azd", output, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("sh")]
    [InlineData("pwsh")]
    public async Task AStaleSubscriptionInTheShell_DoesNotWinOverAzds(string shell)
    {
        SetEnv(("AZURE_ENV_NAME", "otp"), ("AZURE_SUBSCRIPTION_ID", "sub-azd"));

        var (exitCode, output) = await RunAsync(shell, "preprovision", ("FAKE_RG_EXISTS", "true"), ("AZURE_SUBSCRIPTION_ID", "sub-stale"));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("azd env refresh", output, StringComparison.Ordinal);
        Assert.False(Env().ContainsKey("OTPFAILOVER_CODE_KEY"));
        Assert.All(ArmCalls(), call => Assert.Contains("--subscription sub-azd", call, StringComparison.Ordinal));
    }

    /// <summary>Every az call the hook made (Resource Manager's, and the vault's, whose tenant az finds by the subscription).</summary>
    private List<string> ArmCalls() => [.. File.ReadAllLines(Path.Combine(_folder, "az.log"))];

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex HexKey();
}
