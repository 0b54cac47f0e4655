using System.Reflection;
using System.Runtime.Loader;
using System.Text.Json;
using Microsoft.Azure.WebJobs;
using Microsoft.Azure.WebJobs.Extensions.Http;
using Microsoft.Azure.WebJobs.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace OtpFailover.ExtensionHost;

/// <summary>
/// Starts a WebJobs host with the extensions a Functions host would run for the app: every startup type the build's
/// <c>extensions.json</c> names, loaded from its hint path in the app's <c>.azurefunctions</c> payload (the durable
/// extension at the version the worker extension brings), and the HTTP extension the host has built in. Configuration
/// is bound as the host binds it: host.json's properties under <c>AzureFunctionsJobHost</c>, which
/// <c>AzureWebJobsConfigurationSection</c> names as the WebJobs root, then the environment (app settings).
/// </summary>
/// <remarks>
/// Usage: <c>OtpFailover.ExtensionHost APP_FOLDER [HOST_JSON]</c>. APP_FOLDER holds <c>extensions.json</c> and
/// <c>.azurefunctions/</c>; HOST_JSON defaults to the one in APP_FOLDER. Prints one JSON line: <c>{"started":true,…}</c>
/// with what the extensions bound (exit 0), or <c>{"started":false,"error":…}</c> with the error that stopped the host
/// (exit 1). Storage is <c>AzureWebJobsStorage</c> (Azurite by default).
/// </remarks>
public static class ExtensionHostProgram
{
    public const string JobHostSection = "AzureFunctionsJobHost";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length is < 1 or > 2)
        {
            await Console.Error.WriteLineAsync("usage: OtpFailover.ExtensionHost APP_FOLDER [HOST_JSON]");
            return 2;
        }

        var appFolder = Path.GetFullPath(args[0]);
        var hostJson = args.Length > 1 ? Path.GetFullPath(args[1]) : Path.Combine(appFolder, "host.json");
        try
        {
            var report = await StartAndStopAsync(appFolder, hostJson);
            Console.WriteLine(JsonSerializer.Serialize(report));
            return 0;
        }
#pragma warning disable CA1031 // Whatever stops the host is the answer this program gives.
        catch (Exception e)
#pragma warning restore CA1031
        {
            var root = e;
            while (root is TargetInvocationException or AggregateException && root.InnerException is not null)
            {
                root = root.InnerException;
            }

            Console.WriteLine(JsonSerializer.Serialize(new { started = false, error = $"{root.GetType().FullName}: {root.Message}" }));
            await Console.Error.WriteLineAsync(e.ToString());
            return 1;
        }
    }

    private static async Task<Dictionary<string, object?>> StartAndStopAsync(string appFolder, string hostJson)
    {
        var payload = Path.Combine(appFolder, ".azurefunctions");
        // The host resolves an extension's dependencies from the payload; the host's own assemblies (WebJobs,
        // ASP.NET Core, Microsoft.Extensions) come first, as they do here.
        AssemblyLoadContext.Default.Resolving += (context, name) =>
        {
            var candidate = Path.Combine(payload, name.Name + ".dll");
            return File.Exists(candidate) ? context.LoadFromAssemblyPath(candidate) : null;
        };

        var startups = ExtensionStartups(appFolder);
        var loaded = new List<Type>();
        var skipped = new List<string>();
        var builder = new HostBuilder()
            .UseContentRoot(appFolder)
            .ConfigureAppConfiguration(configuration =>
            {
                configuration.Sources.Clear();
                configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsConfigurationSection"] = JobHostSection });
                configuration.AddInMemoryCollection(HostJsonAsConfiguration(hostJson));
                configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
                    ["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated",
                });
                configuration.AddEnvironmentVariables();
            })
            .ConfigureLogging(logging => logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning))
            .ConfigureWebJobs((context, webJobs) =>
            {
                webJobs.AddHttp();
                var startupContext = new WebJobsBuilderContext { Configuration = context.Configuration, ApplicationRootPath = appFolder };
                foreach (var startup in startups)
                {
                    try
                    {
                        webJobs.UseWebJobsStartup(startup, startupContext, NullLoggerFactory.Instance);
                        loaded.Add(startup);
                    }
                    catch (FileNotFoundException e) when (e.FileName?.StartsWith("Microsoft.Azure.WebJobs.Script", StringComparison.Ordinal) == true)
                    {
                        // Host plumbing built on the Functions host's own assemblies (the worker's function metadata
                        // loader): it binds no host.json section, and only the host itself can run it.
                        skipped.Add($"{startup.FullName} (needs {e.FileName?.Split(',')[0]})");
                    }
                }
            });

        using var host = builder.Build();
        using (var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await host.StartAsync(patience.Token);
        }

        var report = new Dictionary<string, object?>
        {
            ["started"] = true,
            ["skipped"] = skipped.ToArray(),
            ["extensions"] = loaded.Select(t => $"{t.Assembly.GetName().Name} {t.Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}").ToArray(),
            ["http.routePrefix"] = host.Services.GetRequiredService<IOptions<HttpOptions>>().Value.RoutePrefix,
        };
        foreach (var (name, value) in DurableTaskOptions(host.Services))
        {
            report[name] = value;
        }

        using (var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await host.StopAsync(patience.Token);
        }

        return report;
    }

    /// <summary>The startup types the build's extensions.json names, loaded from their hint paths.</summary>
    private static List<Type> ExtensionStartups(string appFolder)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(appFolder, "extensions.json")));
        var startups = new List<Type>();
        foreach (var extension in document.RootElement.GetProperty("extensions").EnumerateArray())
        {
            var typeName = extension.GetProperty("typeName").GetString()!;
            var hintPath = extension.GetProperty("hintPath").GetString()!;
            var assembly = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.GetFullPath(Path.Combine(appFolder, hintPath)));
            var type = assembly.GetType(typeName.Split(',')[0].Trim(), throwOnError: true)!;
            startups.Add(type);
        }

        return startups;
    }

    /// <summary>host.json's properties as configuration keys under <see cref="JobHostSection"/>, as the host reads it.</summary>
    public static Dictionary<string, string?> HostJsonAsConfiguration(string hostJson)
    {
        using var stream = File.OpenRead(hostJson);
        var flat = new ConfigurationBuilder().AddJsonStream(stream).Build();
        return flat.AsEnumerable()
            .Where(pair => pair.Value is not null)
            .ToDictionary(pair => ConfigurationPath.Combine(JobHostSection, pair.Key), pair => pair.Value);
    }

    /// <summary>The durable extension's bound options (read by reflection: its types come from the payload).</summary>
    private static IEnumerable<(string Name, object? Value)> DurableTaskOptions(IServiceProvider services)
    {
        var optionsType = AppDomain.CurrentDomain.GetAssemblies()
            .Select(a => a.GetType("Microsoft.Azure.WebJobs.Extensions.DurableTask.DurableTaskOptions"))
            .FirstOrDefault(t => t is not null);
        if (optionsType is null)
        {
            yield break;
        }

        var accessor = services.GetRequiredService(typeof(IOptions<>).MakeGenericType(optionsType));
        var options = accessor.GetType().GetProperty("Value")!.GetValue(accessor)!;
        yield return ("durableTask.hubName", optionsType.GetProperty("HubName")?.GetValue(options));
        if (optionsType.GetProperty("StorageProvider")?.GetValue(options) is IDictionary<string, object> storage)
        {
            foreach (var (key, value) in storage)
            {
                yield return ($"durableTask.storageProvider.{key}", value?.ToString());
            }
        }
    }
}
