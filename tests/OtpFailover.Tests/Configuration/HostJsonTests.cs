using System.Text.Json.Nodes;

namespace OtpFailover.Tests.Configuration;

/// <summary>
/// host.json's durable settings carry promises the README makes (see "Performance"): a crashed worker's messages come
/// back within a minute (the Durable extension's shortest control-queue visibility; <see cref="HostExtensionsTests"/> has
/// the extension judge host.json), an idle app notices a due timer within a second, and nothing the orchestration carries
/// reaches the host's traces. The tests and the benchmark run the engine with these same values
/// (<see cref="HostJsonDurableSettings"/>), so what they measure is what production runs.
/// </summary>
public sealed class HostJsonTests
{
    private static readonly string HostJson = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "host.json"));

    [Fact]
    public void WhatHostJsonLeavesOut_TakesTheExtensionsDefaults()
    {
        var settings = HostJsonDurableSettings.Parse("""{ "version": "2.0", "extensions": { "durableTask": { "hubName": "X" } } }""");

        Assert.Equal(new HostJsonDurableSettings(TimeSpan.FromSeconds(30), 4, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(5), 32, false), settings);
    }

    [Fact]
    public void ACrashedWorkersMessages_ComeBackWithinAMinute()
    {
        // A message a dead worker took stays invisible this long (the extension's default is five minutes); the kill
        // tests run with these values.
        var settings = HostJsonDurableSettings.Parse(HostJson);

        Assert.True(settings.ControlQueueVisibilityTimeout <= TimeSpan.FromMinutes(1), $"controlQueueVisibilityTimeout is {settings.ControlQueueVisibilityTimeout}");
        Assert.True(settings.WorkItemQueueVisibilityTimeout <= TimeSpan.FromSeconds(30), $"workItemQueueVisibilityTimeout is {settings.WorkItemQueueVisibilityTimeout}");
    }

    [Fact]
    public void AnIdleAppNoticesADueTimer_WithinASecond()
    {
        var settings = HostJsonDurableSettings.Parse(HostJson);

        Assert.True(settings.MaxQueuePollingInterval <= TimeSpan.FromSeconds(1), $"maxQueuePollingInterval is {settings.MaxQueuePollingInterval}");
        Assert.False(settings.ExtendedSessionsEnabled);
    }

    [Fact]
    public void TheDurableHost_NeverTracesInputsOutputsOrReplays()
    {
        // Inputs and outputs carry the masked number and the verification's state; the code never enters them, but
        // traces are kept by whoever runs Application Insights, so they stay off.
        var tracing = JsonNode.Parse(HostJson)!["extensions"]!["durableTask"]!["tracing"]!;

        Assert.False(tracing["traceInputsAndOutputs"]!.GetValue<bool>());
        Assert.False(tracing["traceReplayEvents"]!.GetValue<bool>());
    }
}
