using System.Diagnostics;
using System.Text;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using OtpFailover.Functions;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Verifications;

/// <summary>
/// Runs a whole flow (WhatsApp, timeout, SMS, a wrong code, the right code, status callbacks) and then searches
/// everything the app and the engine kept (durable history, the instance's input, output and custom status, every
/// Table row, every log line) and everything the OpenTelemetry SDK's in-memory exporters got (every span, metric point
/// and log record, with their attributes), and every callback body, for the code and the phone number.
/// </summary>
[Collection(nameof(OtpFailover.Tests.Telemetry.ProcessTracing))]
public sealed class SecretLeakTests
{
    private const string PhoneNumber = "+14155550199";

    [Fact]
    public async Task TheCodeAndThePhoneNumber_AppearInNoHistory_NoRow_NoLog_NoSpan_NoMetric_AndNoCallback()
    {
        // What an exporter gets: the OpenTelemetry SDK, with the sources the app exports (the worker's, its own, HTTP
        // client spans), every meter, and the app's logs, all into in-memory exporters.
        var exportedSpans = new List<Activity>();
        var exportedMetrics = new List<Metric>();
        var exportedLogs = new List<LogRecord>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource("Microsoft.Azure.Functions.Worker").AddOtpFailoverTracing().AddInMemoryExporter(exportedSpans).Build();
        using var metering = Sdk.CreateMeterProviderBuilder().AddMeter("*").AddHttpClientInstrumentation().AddInMemoryExporter(exportedMetrics).Build();
        await using var receiver = await Callbacks.CallbackReceiver.StartAsync();

        // The real provider clients (and their HTTP logging) against the local stand-ins; WhatsApp stays silent.
        await using var graph = await WhatsApp.WhatsAppStandIns.StartGraphApiAsync();
        await using var acs = await Sms.AcsStandIns.StartAsync();

        // Ten digits, so the code cannot turn up by chance inside an id or a timestamp.
        await using var app = await TestApp.StartAsync(o => o.CodeLength = 10, backend: DurableBackend.AzureStorage, services: s =>
        {
            WhatsApp.WhatsAppStandIns.UseCloudApi(s, graph.BaseUrl);
            Sms.AcsStandIns.UseAcs(s, Sms.AcsStandIns.Settings(acs));
            Callbacks.CallbackReceiver.UseIn(s, [receiver], c => c.Url = receiver.Url.AbsoluteUri);
            s.AddLogging(logging => logging.AddOpenTelemetry(o =>
            {
                o.IncludeFormattedMessage = true;
                o.IncludeScopes = true;
                o.AddInMemoryExporter(exportedLogs);
            }));
        });
        var verification = await app.StartAsync(PhoneNumber, "order-42");
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);
        var code = graph.Received.Single().BodyCode;
        Assert.Contains(code, acs.Sent.Single().Message, StringComparison.Ordinal);
        Assert.Equal(CheckOutcome.Incorrect, (await app.Verifications.CheckAsync(verification.Id, "0000000000" == code ? "1111111111" : "0000000000", app.Client, default)).Outcome);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        await app.WaitForCompletionAsync(verification.Id);
        await receiver.WaitForAcceptedAsync("whatsapp.sent", "failover", "sms.sent", "approved");

        // What the Azure Storage backend persisted: the History and Instances tables of the task hub.
        var tables = new TableServiceClient(Azurite.ConnectionString);
        var historyText = await ReadAllRowsAsync(tables.GetTableClient($"{app.TaskHubName}History"));
        Assert.Contains(ActivityNames.SendCode, historyText, StringComparison.Ordinal); // the search does see the history
        var instancesText = await ReadAllRowsAsync(tables.GetTableClient($"{app.TaskHubName}Instances"));
        Assert.Contains(verification.Id, instancesText, StringComparison.Ordinal);
        var instance = await app.Client.GetInstanceAsync(verification.Id, getInputsAndOutputs: true);
        var instanceText = $"{instance!.SerializedInput}|{instance.SerializedOutput}|{instance.SerializedCustomStatus}";
        Assert.Contains(verification.Id, instanceText); // the search does see what the engine stored
        var rowsText = await ReadAllRowsAsync(app.Table);
        Assert.Contains("order-42", rowsText);
        // Every table the app and its task hub made, searched for the number inside Base64 too (a WhatsApp message id
        // carries the recipient's digits).
        var everyTableText = new StringBuilder();
        await foreach (var table in tables.QueryAsync())
        {
            if (table.Name.StartsWith(app.TableName, StringComparison.Ordinal) || table.Name.StartsWith(app.TaskHubName!, StringComparison.OrdinalIgnoreCase))
            {
                everyTableText.Append(table.Name).Append(':').Append(await ReadAllRowsAsync(tables.GetTableClient(table.Name))).Append('\n');
            }
        }

        Assert.Contains("order-42", everyTableText.ToString(), StringComparison.Ordinal);
        Assert.Contains($"{app.TaskHubName}History", everyTableText.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(PersonalData.FindNumber(graph.Received.Single().MessageId, PhoneNumber)); // the stand-in mints ids with the number inside, and the search finds it there
        Assert.True(PersonalData.FindNumber(everyTableText.ToString(), PhoneNumber) is null, $"The phone number is stored {PersonalData.FindNumber(everyTableText.ToString(), PhoneNumber)}.");
        var logs = app.Logs.GetSnapshot();
        Assert.Contains(logs, r => r.Category?.StartsWith("System.Net.Http.HttpClient", StringComparison.Ordinal) == true); // the HTTP clients' own logging is searched too
        var logText = string.Join('\n', logs.Select(r => $"{r.Message}|{r.Exception}|{string.Join(',', r.StructuredState?.Select(kv => $"{kv.Key}={kv.Value}") ?? [])}"));
        Assert.Contains(verification.Id, logText);

        tracing.ForceFlush();
        metering.ForceFlush();
        var spanText = string.Join('\n', exportedSpans.ToList().Select(a => $"{a.Source.Name}|{a.DisplayName}|{a.StatusDescription}|{string.Join(',', a.TagObjects.Select(t => $"{t.Key}={t.Value}"))}|{string.Join(',', a.Events.Select(e => $"{e.Name}:{string.Join(',', e.Tags.Select(t => $"{t.Key}={t.Value}"))}"))}|{string.Join(',', a.Baggage.Select(b => $"{b.Key}={b.Value}"))}"));
        Assert.Contains("System.Net.Http", spanText, StringComparison.Ordinal); // the provider calls' spans are searched
        Assert.Contains("otpfailover.sms.send", spanText, StringComparison.Ordinal); // and the app's own
        var metricText = MetricText(exportedMetrics);
        Assert.Contains("otpfailover.codes.sent", metricText, StringComparison.Ordinal); // and the app's own meter
        var exportedLogText = string.Join('\n', exportedLogs.ToList().Select(r => $"{r.CategoryName}|{r.FormattedMessage}|{r.Body}|{r.Exception}|{string.Join(',', r.Attributes?.Select(kv => $"{kv.Key}={kv.Value}") ?? [])}"));
        Assert.Contains(verification.Id, exportedLogText, StringComparison.Ordinal);
        var callbackText = string.Join('\n', receiver.Received.Select(r => r.Body));
        Assert.Contains("sms.sent", callbackText, StringComparison.Ordinal);

        // The number's keyed hash is no secret, but it links one person's verifications: none in telemetry either.
        var phoneIndex = (await app.Store.FindAsync(verification.Id))!.PhoneIndex;
        Assert.Contains(phoneIndex, rowsText, StringComparison.Ordinal); // the search knows what it looks for
        foreach (var (where, text) in new[] { ("exported logs", exportedLogText), ("spans", spanText), ("metrics", metricText), ("callbacks", callbackText) })
        {
            Assert.False(text.Contains(phoneIndex, StringComparison.Ordinal), $"The number's keyed hash appears in the {where}.");
        }

        foreach (var (where, text) in new[] { ("history table", historyText), ("instances table", instancesText), ("instance", instanceText), ("table rows", rowsText), ("logs", logText), ("exported logs", exportedLogText), ("spans", spanText), ("metrics", metricText), ("callbacks", callbackText) })
        {
            Assert.False(text.Contains(code, StringComparison.Ordinal), $"The code appears in the {where}.");
            Assert.True(PersonalData.FindNumber(text, PhoneNumber) is null, $"The phone number appears in the {where}, {PersonalData.FindNumber(text, PhoneNumber)}.");
        }
    }

    [Fact]
    public async Task OnStorageFailures_TheNumberAndItsKeyedHash_AppearInNoLog()
    {
        // The start's usage records (the client's, then the number's) are written, its workflow cannot be scheduled
        // (the durable backend is unreachable), and storage answers 503 to every usage write after that: the start is
        // undone, but giving its records back fails.
        var faults = new StorageFaults();
        await using var app = await TestApp.StartAsync(services: s => s.AddSingleton(StorageFaults.Client(faults, maxRetries: 0)));
        var usageWrites = 0;
        faults.FailWritesWhen = request => request.Contains("usage-", StringComparison.Ordinal) && Interlocked.Increment(ref usageWrites) > 2;
        await using var unreachable = new Microsoft.DurableTask.Client.Grpc.GrpcDurableTaskClient("unreachable", new Microsoft.DurableTask.Client.Grpc.GrpcDurableTaskClientOptions { Address = $"http://127.0.0.1:{AzureStorageDurableHost.FreeLoopbackPort()}" }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.True(OtpFailover.PhoneNumbers.PhoneNumber.TryParse(PhoneNumber, out var parsed));
        await Assert.ThrowsAnyAsync<Exception>(() => app.Verifications.StartAsync(new StartRequest(parsed!, ClientSubjects: ["ip:203.0.113.7"]), unreachable, default));
        faults.FailWritesWhen = null;


        var phoneIndex = app.Services.GetRequiredService<OtpFailover.PhoneNumbers.PhoneNumberProtector>().Index(OtpFailover.PhoneNumbers.PhoneNumber.TryParse(PhoneNumber, out var number) ? number! : throw new InvalidOperationException());
        Assert.Contains(await app.RowsAsync(), r => r.GetString("PhoneIndex") == phoneIndex); // the hash the search looks for is the stored one
        var logs = app.Logs.GetSnapshot();
        Assert.Contains(logs, r => r.Level >= LogLevel.Warning && r.Exception is not null); // the failure paths did log
        var logText = string.Join('\n', logs.Select(r => $"{r.Message}|{r.Exception}|{string.Join(',', r.StructuredState?.Select(kv => $"{kv.Key}={kv.Value}") ?? [])}"));
        Assert.False(logText.Contains(phoneIndex, StringComparison.Ordinal), "The number's keyed hash appears in the logs.");
        // Nor any other keyed hash (a client's IP or key links one person's starts too): none is 64 hex digits in a log.
        Assert.DoesNotMatch(@"[0-9a-f]{64}", logText);
        Assert.True(PersonalData.FindNumber(logText, PhoneNumber) is null, $"The phone number appears in the logs, {PersonalData.FindNumber(logText, PhoneNumber)}.");
    }

    /// <summary>Every metric point the exporter got: name, tags and value.</summary>
    private static string MetricText(List<Metric> metrics)
    {
        var text = new StringBuilder();
        foreach (var metric in metrics.ToList())
        {
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                text.Append(metric.MeterName).Append('|').Append(metric.Name).Append('|');
                foreach (var tag in point.Tags)
                {
                    text.Append(tag.Key).Append('=').Append(tag.Value).Append(',');
                }

                text.Append('|').Append(metric.MetricType switch
                {
                    MetricType.LongSum or MetricType.LongSumNonMonotonic => point.GetSumLong().ToString(System.Globalization.CultureInfo.InvariantCulture),
                    MetricType.DoubleSum or MetricType.DoubleSumNonMonotonic => point.GetSumDouble().ToString(System.Globalization.CultureInfo.InvariantCulture),
                    MetricType.LongGauge => point.GetGaugeLastValueLong().ToString(System.Globalization.CultureInfo.InvariantCulture),
                    MetricType.DoubleGauge => point.GetGaugeLastValueDouble().ToString(System.Globalization.CultureInfo.InvariantCulture),
                    MetricType.Histogram => point.GetHistogramSum().ToString(System.Globalization.CultureInfo.InvariantCulture),
                    _ => string.Empty,
                }).Append('\n');
            }
        }

        return text.ToString();
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
