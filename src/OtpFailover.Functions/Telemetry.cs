using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using OtpFailover.Telemetry;

namespace OtpFailover.Functions;

/// <summary>
/// OpenTelemetry the Functions way (host.json's <c>telemetryMode</c> is <c>OpenTelemetry</c>): the worker's spans, the
/// provider calls' HTTP client spans (the instrumentation redacts query strings and never records bodies), and the
/// <c>otpfailover</c> meter. Exported to Azure Monitor when <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set (with
/// Entra ID when <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c> names a managed identity), over OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and nowhere when neither is.
/// </summary>
public static class Telemetry
{
    public const string AzureMonitorSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string AzureMonitorAuthenticationSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
    public const string OtlpSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static void Configure(IServiceCollection services, IConfiguration configuration)
    {
        var azureMonitor = configuration[AzureMonitorSetting];
        var otlp = configuration[OtlpSetting];
        if (string.IsNullOrWhiteSpace(azureMonitor) && string.IsNullOrWhiteSpace(otlp))
        {
            return;
        }

        var telemetry = services.AddOpenTelemetry()
            .UseFunctionsWorkerDefaults()
            .WithTracing(tracing => tracing.AddOtpFailoverTracing())
            .WithMetrics(metrics => metrics.AddMeter(OtpMetrics.MeterName).AddHttpClientInstrumentation());
        if (!string.IsNullOrWhiteSpace(azureMonitor))
        {
            telemetry.UseAzureMonitorExporter(options =>
            {
                options.ConnectionString = azureMonitor;
                if (ManagedIdentityClientId(configuration[AzureMonitorAuthenticationSetting]) is { } clientId)
                {
                    options.Credential = new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId));
                }
            });
        }

        if (!string.IsNullOrWhiteSpace(otlp))
        {
            telemetry.UseOtlpExporter();
        }
    }

    /// <summary>
    /// The app's spans (<see cref="VerificationTracing"/>: one trace per verification) and the outbound HTTP calls'
    /// spans, whose <c>url.full</c> is cut to the path with no query string (a provider's API version, or a customer's
    /// own callback URL parameters) and no table entity keys (a number's keyed hash is one: it would link one
    /// person's verifications in telemetry kept longer than the rows), and never a body.
    /// </summary>
    public static TracerProviderBuilder AddOtpFailoverTracing(this TracerProviderBuilder tracing) =>
        tracing.AddSource(VerificationTracing.SourceName)
            .AddHttpClientInstrumentation(http => http.EnrichWithHttpRequestMessage = (activity, request) =>
            {
                if (request.RequestUri is { IsAbsoluteUri: true } url)
                {
                    activity.SetTag("url.full", RedactedUrl(url));
                    activity.SetTag("url.query", null);
                }
            });

    /// <summary>Scheme, host and path, with a table entity's keys (<c>Table(PartitionKey='…',RowKey='…')</c>) left out.</summary>
    public static string RedactedUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var path = url.GetLeftPart(UriPartial.Path);
        var keys = path.IndexOf('(', StringComparison.Ordinal);
        return keys < 0 ? path : path[..keys] + "()";
    }

    /// <summary>The client id in <c>ClientId=…;Authorization=AAD</c>, the form Application Insights documents.</summary>
    public static string? ManagedIdentityClientId(string? authentication) =>
        (authentication ?? string.Empty).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2))
            .Where(pair => pair.Length == 2 && pair[0].Equals("ClientId", StringComparison.OrdinalIgnoreCase) && pair[1].Length > 0)
            .Select(pair => pair[1])
            .FirstOrDefault();
}
