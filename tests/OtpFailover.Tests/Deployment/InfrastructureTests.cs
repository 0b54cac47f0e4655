using System.Collections;
using System.Reflection;
using System.Text.Json.Nodes;
using OtpFailover.Abuse;
using OtpFailover.Retention;
using OtpFailover.Sms;
using OtpFailover.Storage;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;

namespace OtpFailover.Tests.Deployment;

/// <summary>
/// The infrastructure compiles and lints clean with the Bicep CLI from NuGet, and the Function App it deploys gets
/// every setting the app binds: a new option cannot be forgotten in <c>infra/</c>.
/// </summary>
public sealed class InfrastructureTests
{
    /// <summary>The sections the app binds, and the options class of each.</summary>
    private static readonly (string Section, Type Options)[] Sections =
    [
        (VerificationOptions.SectionName, typeof(VerificationOptions)),
        (StorageOptions.SectionName, typeof(StorageOptions)),
        (WhatsAppOptions.SectionName, typeof(WhatsAppOptions)),
        (SmsOptions.SectionName, typeof(SmsOptions)),
        (OtpFailover.Email.EmailOptions.SectionName, typeof(OtpFailover.Email.EmailOptions)),
        (AbuseOptions.SectionName, typeof(AbuseOptions)),
        (RetentionOptions.SectionName, typeof(RetentionOptions)),
        (OtpFailover.Callbacks.CallbackOptions.SectionName, typeof(OtpFailover.Callbacks.CallbackOptions)),
    ];

    /// <summary>Bound by the app, and deliberately not set in Azure, each with the reason.</summary>
    private static readonly Dictionary<string, string> NotSetInAzure = new()
    {
        ["Sms__ConnectionString"] = "in Azure the app reaches Communication Services with its identity (Sms__Endpoint); no access key is deployed",
        ["Email__ConnectionString"] = "in Azure the app reaches Communication Services with its identity (Email__Endpoint); no access key is deployed",
    };

    /// <summary>Set in Azure for the Functions host and its telemetry, not bound by the app's options.</summary>
    private static readonly string[] HostSettings =
    [
        "AzureWebJobsStorage__blobServiceUri",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
    ];

    /// <summary>What azd must hand main.bicep: its environment, and the keys the preprovision hook makes.</summary>
    private static readonly string[] AzdParameters = ["environmentName", "location", "principalId", "codeKey", "smsWebhookKey"];

    /// <summary>
    /// Every setting the app binds, in the <c>__</c> form app settings use. A dictionary is a family of settings
    /// (its name ends with <c>__</c>, one setting per key).
    /// </summary>
    internal static IEnumerable<string> BoundSettings()
    {
        foreach (var (section, type) in Sections)
        {
            foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true))
            {
                var name = $"{section}__{property.Name}";
                if (property.PropertyType == typeof(RateLimitRule))
                {
                    yield return $"{name}__{nameof(RateLimitRule.Limit)}";
                    yield return $"{name}__{nameof(RateLimitRule.Window)}";
                }
                else if (typeof(IDictionary).IsAssignableFrom(property.PropertyType))
                {
                    yield return $"{name}__";
                }
                else
                {
                    yield return name;
                }
            }
        }
    }

    [SkippableFact]
    public async Task EveryBicepFile_BuildsAndLints_WithoutAWarning()
    {
        Bicep.SkipUnlessItRuns();
        var files = Directory.GetFiles(Bicep.InfraFolder, "*.bicep", SearchOption.AllDirectories);
        Assert.Contains(files, f => f.EndsWith("main.bicep", StringComparison.Ordinal));

        foreach (var file in files)
        {
            var lint = await Bicep.RunAsync("lint", file);
            Assert.True(lint.ExitCode == 0 && lint.Output.Trim().Length == 0, $"bicep lint {Path.GetRelativePath(ChildProcesses.RepositoryRoot, file)}:\n{lint.Output}");
            var build = await Bicep.RunAsync("build", file, "--stdout");
            Assert.True(build.ExitCode == 0 && !build.Output.Contains("Warning", StringComparison.Ordinal), $"bicep build {Path.GetRelativePath(ChildProcesses.RepositoryRoot, file)}:\n{build.Output}");
        }
    }

    [SkippableFact]
    public async Task TheFunctionApp_GetsEverySettingTheAppBinds_AndNoSettingItDoesNot()
    {
        Bicep.SkipUnlessItRuns();
        var template = await Bicep.BuildMainAsync();
        var settings = Bicep.Templates(template).Select(t => t["variables"]?["appSettings"]).OfType<JsonObject>().Single();
        var deployed = settings.Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
        var compiled = template.ToJsonString();

        var bound = BoundSettings().ToList();
        Assert.Contains("Verification__CodeKey", bound);
        Assert.Contains("Abuse__SmsPerNumber__Window", bound);
        foreach (var setting in bound.Where(s => !NotSetInAzure.ContainsKey(s)))
        {
            if (setting.EndsWith("__", StringComparison.Ordinal))
            {
                // A family (one setting per key) is made from a parameter object by a loop.
                Assert.True(compiled.Contains(setting, StringComparison.Ordinal), $"infra/ makes no {setting}{{key}} settings");
            }
            else
            {
                Assert.True(deployed.Contains(setting), $"infra/app/function-app.bicep does not set {setting}: set it, or say in {nameof(NotSetInAzure)} why not");
            }
        }

        var unknown = deployed.Except(bound).Except(HostSettings).ToList();
        Assert.True(unknown.Count == 0, $"infra/ sets settings nothing reads: {string.Join(", ", unknown)}");
        Assert.DoesNotContain(deployed, NotSetInAzure.ContainsKey);
    }

    [SkippableFact]
    public async Task EveryParameterAzdPasses_IsAParameterOfMainBicep()
    {
        Bicep.SkipUnlessItRuns();
        var template = await Bicep.BuildMainAsync();
        var declared = template["parameters"]!.AsObject().Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var passed = JsonNode.Parse(File.ReadAllText(Path.Combine(Bicep.InfraFolder, "main.parameters.json")))!["parameters"]!.AsObject();

        Assert.All(passed, p => Assert.True(declared.Contains(p.Key), $"main.parameters.json passes {p.Key}, which main.bicep does not declare"));
        Assert.All(AzdParameters, name => Assert.True(passed.ContainsKey(name), $"main.parameters.json does not pass {name}"));
    }

    [SkippableFact]
    public async Task Secrets_AreKeyVaultReferences_AndStorageIsReachedByIdentityOnly()
    {
        Bicep.SkipUnlessItRuns();
        var template = await Bicep.BuildMainAsync();
        var settings = Bicep.Templates(template).Select(t => t["variables"]?["appSettings"]).OfType<JsonObject>().Single();

        foreach (var secret in new[] { "Verification__CodeKey", "Sms__WebhookKey", "WhatsApp__AccessToken", "WhatsApp__AppSecret", "WhatsApp__VerifyToken" })
        {
            Assert.Contains("Microsoft.KeyVault", settings[secret]!.ToString(), StringComparison.Ordinal);
        }

        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]!.ToString());
        Assert.False(settings.ContainsKey("AzureWebJobsStorage"), "no storage connection string");
        var storage = Bicep.Templates(template)
            .SelectMany(t => t["resources"] is JsonArray a ? a.OfType<JsonObject>() : t["resources"] is JsonObject o ? o.Select(r => r.Value).OfType<JsonObject>() : [])
            .Single(r => r["type"]?.ToString() == "Microsoft.Storage/storageAccounts");
        Assert.Equal("false", storage["properties"]!["allowSharedKeyAccess"]!.ToJsonString());
        Assert.Equal("\"TLS1_2\"", storage["properties"]!["minimumTlsVersion"]!.ToJsonString());
        Assert.Equal("false", storage["properties"]!["allowBlobPublicAccess"]!.ToJsonString());
        Assert.DoesNotContain("br/public", string.Concat(Directory.GetFiles(Bicep.InfraFolder, "*.bicep", SearchOption.AllDirectories).Select(File.ReadAllText)), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task WithAManagedDomain_EmailGetsAnEmailServiceWhoseDomainIsLinked_WithoutEngagementTracking()
    {
        Bicep.SkipUnlessItRuns();
        var template = await Bicep.BuildMainAsync();
        var resources = Bicep.Templates(template)
            .SelectMany(t => t["resources"] switch { JsonArray a => a.OfType<JsonObject>(), JsonObject o => o.Select(r => r.Value).OfType<JsonObject>(), _ => [] })
            .ToList();

        var domain = Assert.Single(resources, r => r["type"]?.GetValue<string>() == "Microsoft.Communication/emailServices/domains");
        Assert.Equal("AzureManaged", domain["properties"]!["domainManagement"]!.GetValue<string>());
        Assert.Equal("Disabled", domain["properties"]!["userEngagementTracking"]!.GetValue<string>());
        Assert.Contains("emailEnabled", domain["condition"]!.ToJsonString(), StringComparison.Ordinal);
        var acs = Assert.Single(resources, r => r["type"]?.GetValue<string>() == "Microsoft.Communication/communicationServices");
        var properties = acs["properties"]!.ToJsonString();
        Assert.Contains("linkedDomains", properties, StringComparison.Ordinal);
        Assert.Contains("emailServices/domains", properties, StringComparison.Ordinal);
        Assert.Contains("emailEnabled", properties, StringComparison.Ordinal); // left out without email: a hand-linked domain stays
        var main = File.ReadAllText(Path.Combine(Bicep.InfraFolder, "main.bicep"));
        Assert.Contains("emailEnabled: email.?managedDomain ?? false", main, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task TheFlexConsumptionSite_SetsNoSiteConfigArmRefusesForFlex()
    {
        // ARM answers BadRequest 51021 to FtpsState on a Flex Consumption site in regions that enforce it; Microsoft's
        // Flex templates set neither it nor http20Enabled.
        Bicep.SkipUnlessItRuns();
        var template = await Bicep.BuildMainAsync();

        var site = Resources(template).Single(r => r["type"]?.ToString() == "Microsoft.Web/sites");
        var siteConfig = site["properties"]!["siteConfig"]!.AsObject();

        Assert.False(siteConfig.ContainsKey("ftpsState"), siteConfig.ToJsonString());
        Assert.False(siteConfig.ContainsKey("http20Enabled"), siteConfig.ToJsonString());
        Assert.NotNull(site["properties"]!["functionAppConfig"]);
    }

    [SkippableFact]
    public async Task TheLocation_IsOneThatOffersFlexConsumption_AndAzdOffersItsPicker()
    {
        Bicep.SkipUnlessItRuns();
        var template = await Bicep.BuildMainAsync();

        var location = template["parameters"]!["location"]!;
        var allowed = location["allowedValues"]!.AsArray().Select(v => v!.GetValue<string>()).ToList();

        Assert.Equal("location", location["metadata"]!["azd"]!["type"]!.GetValue<string>());
        Assert.Contains("westeurope", allowed);
        Assert.Contains("eastus", allowed);
        Assert.DoesNotContain("westindia", allowed); // no Flex Consumption there
        Assert.DoesNotContain("eastus2euap", allowed); // a canary region, not for production
    }

    private static IEnumerable<JsonObject> Resources(JsonObject template) =>
        Bicep.Templates(template).SelectMany(t => t["resources"] is JsonArray a ? a.OfType<JsonObject>() : t["resources"] is JsonObject o ? o.Select(r => r.Value).OfType<JsonObject>() : []);
}
