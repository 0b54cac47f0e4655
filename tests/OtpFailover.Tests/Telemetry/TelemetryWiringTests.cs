using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using OtpFailover.Tests.Configuration;

namespace OtpFailover.Tests.Telemetry;

/// <summary>Telemetry goes to Azure Monitor or OTLP when configured, and nowhere otherwise.</summary>
public sealed class TelemetryWiringTests
{
    private static Dictionary<string, string?> Settings(params (string Name, string Value)[] extra)
    {
        var settings = StartupValidationTests.GoodSettings();
        foreach (var (name, value) in extra)
        {
            settings[name] = value;
        }

        return settings;
    }

    [Fact]
    public void WithoutAConnectionStringOrAnEndpoint_NothingIsExported()
    {
        using var host = StartupValidationTests.BuildFunctionsHost(Settings(("APPLICATIONINSIGHTS_CONNECTION_STRING", ""), ("OTEL_EXPORTER_OTLP_ENDPOINT", "")));

        Assert.Null(host.Services.GetService<TracerProvider>());
        Assert.Null(host.Services.GetService<MeterProvider>());
    }

    [Theory]
    [InlineData("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/")]
    [InlineData("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")]
    public void WithEither_TracesAndTheMeterAreExported(string setting, string value)
    {
        using var host = StartupValidationTests.BuildFunctionsHost(Settings((setting, value), ("APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "ClientId=6f2c5d0e-0b7a-4b0e-9c53-2f4c1a7e9d11;Authorization=AAD")));

        Assert.NotNull(host.Services.GetService<TracerProvider>());
        Assert.NotNull(host.Services.GetService<MeterProvider>());
    }

    [Theory]
    [InlineData("ClientId=6f2c5d0e-0b7a-4b0e-9c53-2f4c1a7e9d11;Authorization=AAD", "6f2c5d0e-0b7a-4b0e-9c53-2f4c1a7e9d11")]
    [InlineData("Authorization=AAD", null)]
    [InlineData("", null)]
    [InlineData(null, null)]
    public void TheAuthenticationString_NamesTheManagedIdentity(string? authentication, string? clientId) =>
        Assert.Equal(clientId, OtpFailover.Functions.Telemetry.ManagedIdentityClientId(authentication));
}
