using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text;
using Azure.Data.Tables;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;

namespace OtpFailover.Tests.Verifications;

/// <summary>
/// Runs a whole flow (WhatsApp, timeout, SMS, a wrong code, the right code) and then searches everything the app
/// and the engine kept (durable history, the instance's input, output and custom status, every Table row, every
/// log line, every span and every metric measurement with its tags) for the code and the phone number.
/// </summary>
public sealed class SecretLeakTests
{
    private const string PhoneNumber = "+14155550199";

    [Fact]
    public async Task TheCodeAndThePhoneNumber_AppearInNoHistory_NoRow_NoLog_NoSpan_AndNoMetric()
    {
        // Every span and every measurement of the process while the flow runs: what an OpenTelemetry exporter would get.
        var spans = new ConcurrentQueue<string>();
        using var activities = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity => spans.Enqueue($"{activity.Source.Name}|{activity.DisplayName}|{activity.StatusDescription}|{string.Join(',', activity.TagObjects.Select(t => $"{t.Key}={t.Value}"))}|{string.Join(',', activity.Events.Select(e => e.Name))}"),
        };
        ActivitySource.AddActivityListener(activities);
        var measurements = new ConcurrentQueue<string>();
        using var meters = new MeterListener { InstrumentPublished = (instrument, listener) => listener.EnableMeasurementEvents(instrument) };
        void Record<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state) =>
            measurements.Enqueue($"{instrument.Meter.Name}|{instrument.Name}|{value}|{string.Join(',', tags.ToArray().Select(t => $"{t.Key}={t.Value}"))}");
        meters.SetMeasurementEventCallback<long>(Record);
        meters.SetMeasurementEventCallback<double>(Record);
        meters.SetMeasurementEventCallback<int>(Record);
        meters.Start();

        // The real provider clients (and their HTTP logging) against the local stand-ins; WhatsApp stays silent.
        await using var graph = await WhatsApp.WhatsAppStandIns.StartGraphApiAsync();
        await using var acs = await Sms.AcsStandIns.StartAsync();

        // Ten digits, so the code cannot turn up by chance inside an id or a timestamp.
        await using var app = await TestApp.StartAsync(o => o.CodeLength = 10, backend: DurableBackend.AzureStorage, services: s =>
        {
            WhatsApp.WhatsAppStandIns.UseCloudApi(s, graph.BaseUrl);
            Sms.AcsStandIns.UseAcs(s, Sms.AcsStandIns.Settings(acs));
        });
        var verification = await app.StartAsync(PhoneNumber, "order-42");
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);
        var code = graph.Received.Single().BodyCode;
        Assert.Contains(code, acs.Sent.Single().Message, StringComparison.Ordinal);
        Assert.Equal(CheckOutcome.Incorrect, (await app.Verifications.CheckAsync(verification.Id, "0000000000" == code ? "1111111111" : "0000000000", app.Client, default)).Outcome);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        await app.WaitForCompletionAsync(verification.Id);

        // What the Azure Storage backend persisted: the History and Instances tables of the task hub.
        var tables = new TableServiceClient(Azurite.ConnectionString);
        var historyText = await ReadAllRowsAsync(tables.GetTableClient($"{app.TaskHubName}History"));
        Assert.Contains(ActivityNames.SendSms, historyText, StringComparison.Ordinal); // the search does see the history
        var instancesText = await ReadAllRowsAsync(tables.GetTableClient($"{app.TaskHubName}Instances"));
        Assert.Contains(verification.Id, instancesText, StringComparison.Ordinal);
        var instance = await app.Client.GetInstanceAsync(verification.Id, getInputsAndOutputs: true);
        var instanceText = $"{instance!.SerializedInput}|{instance.SerializedOutput}|{instance.SerializedCustomStatus}";
        Assert.Contains(verification.Id, instanceText); // the search does see what the engine stored
        var rowsText = await ReadAllRowsAsync(app.Table);
        Assert.Contains("order-42", rowsText);
        var logs = app.Logs.GetSnapshot();
        Assert.Contains(logs, r => r.Category?.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal) == true); // the HTTP clients' own logging is searched too
        var logText = string.Join('\n', logs.Select(r => $"{r.Message}|{r.Exception}|{string.Join(',', r.StructuredState?.Select(kv => $"{kv.Key}={kv.Value}") ?? [])}"));
        Assert.Contains(verification.Id, logText);

        meters.RecordObservableInstruments();
        var spanText = string.Join('\n', spans);
        Assert.Contains("System.Net.Http", spanText, StringComparison.Ordinal); // the provider calls' spans are searched
        var metricText = string.Join('\n', measurements);
        Assert.Contains("otpfailover.codes.sent", metricText, StringComparison.Ordinal); // and the app's own meter

        foreach (var (where, text) in new[] { ("history table", historyText), ("instances table", instancesText), ("instance", instanceText), ("table rows", rowsText), ("logs", logText), ("spans", spanText), ("metrics", metricText) })
        {
            Assert.False(text.Contains(code, StringComparison.Ordinal), $"The code appears in the {where}.");
            Assert.False(text.Contains(PhoneNumber, StringComparison.Ordinal), $"The phone number appears in the {where}.");
            Assert.False(text.Contains(PhoneNumber[1..], StringComparison.Ordinal), $"The phone number's digits appear in the {where}.");
        }
    }

    private static async Task<string> ReadAllRowsAsync(TableClient table)
    {
        var text = new StringBuilder();
        await foreach (var row in table.QueryAsync<TableEntity>())
        {
            foreach (var (key, value) in row)
            {
                text.Append(key).Append('=');
                text.Append(value is byte[] bytes ? $"{Convert.ToBase64String(bytes)}|{Encoding.ASCII.GetString(bytes)}" : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                text.Append('\n');
            }
        }

        return text.ToString();
    }
}
