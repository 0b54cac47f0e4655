using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Microsoft.DurableTask.Client;
using OtpFailover.PhoneNumbers;
using OtpFailover.Simulator;
using OtpFailover.TestHost;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;

namespace OtpFailover.Benchmarks;

/// <summary>
/// Measures the app against baselines taken in the same run on the same backend, because these machines are noisy:
/// the floor of the storage operations a call needs, and a bare orchestration that calls one activity. Prints a table
/// of ratios, the targets, and the storage operations, activities and history events one verification costs.
/// </summary>
public static class BenchmarkRun
{
    private const string AccessToken = "bench-access-token";
    private const string AppSecret = "bench-app-secret";
    private const string WebhookKey = "bench-webhook-key-0123456789";
    private static readonly byte[] AcsKey = Convert.FromBase64String("YmVuY2gtYWNzLWFjY2Vzcy1rZXktMDEyMzQ1Njc4OQ==");
    private static readonly ConcurrentDictionary<string, long> WhatsAppAt = new();
    private static readonly ConcurrentDictionary<string, long> SmsAt = new();
    private static int s_number;

    /// <summary>The shortest WhatsAppDeliveryTimeout the options allow.</summary>
    private static readonly TimeSpan FailoverTimeout = TimeSpan.FromSeconds(15);

    public static async Task<int> RunAsync(string[] args)
    {
        var samples = args.SkipWhile(a => a != "--samples").Skip(1).Select(int.Parse).FirstOrDefault(60);
        var seconds = args.SkipWhile(a => a != "--seconds").Skip(1).Select(int.Parse).FirstOrDefault(20);
        Environment.SetEnvironmentVariable("Logging__LogLevel__Default", "Warning"); // the engines' own hosts
        await Azurite.EnsureRunningAsync();
        await using var graph = await new WhatsAppCloudApiStandIn(AccessToken, "106540352242922", "v24.0", "verification_code", "en_US").StartAsync();
        await using var acs = await new AcsSmsStandIn(AcsKey).StartAsync();
        graph.Accepted = template => WhatsAppAt.TryAdd(template.CallbackData!, Stopwatch.GetTimestamp());
        acs.SmsSent = sms => SmsAt.TryAdd(sms.Tag!, Stopwatch.GetTimestamp());
        var report = new Report();
        Console.WriteLine($"OtpFailover benchmark: {samples} samples per latency, {seconds} s per throughput run, {Environment.ProcessorCount} cores, .NET {Environment.Version}, Azurite {Azurite.Version} on 127.0.0.1");

        await using (var app = await BenchApp.StartAsync(Backend.AzureStorage, graph, acs, TimeSpan.FromMinutes(5), AppSecret, WebhookKey))
        {
            Console.WriteLine($"Azure Storage backend (host.json: {HostJsonDurableSettings.Current.PartitionCount} partitions, polling at most every {HostJsonDurableSettings.Current.MaxQueuePollingInterval.TotalSeconds:0.#} s): check and start against their floors...");
            await MeasureCheckAsync(app, graph, samples, report);
            await MeasureStartAsync(app, samples, report);
            Console.WriteLine("Azure Storage backend: start -> WhatsApp against a bare orchestration...");
            await MeasureFirstSendAsync(app, samples, report, "Azure Storage");
            Console.WriteLine("Azure Storage backend: what one verification costs...");
            await CountAsync(app, graph, report);
            Console.WriteLine("Azure Storage backend: sustained throughput...");
            await MeasureThroughputAsync(app, graph, TimeSpan.FromSeconds(seconds), report);
        }

        await using (var app = await BenchApp.StartAsync(Backend.InMemory, graph, acs, TimeSpan.FromMinutes(5), AppSecret, WebhookKey))
        {
            Console.WriteLine("In-memory engine: start -> WhatsApp against a bare orchestration...");
            await MeasureFirstSendAsync(app, samples, report, "in-memory");
        }

        await using (var app = await BenchApp.StartAsync(Backend.AzureStorage, graph, acs, FailoverTimeout, AppSecret, WebhookKey))
        {
            Console.WriteLine("Azure Storage backend: failover precision...");
            await MeasureFailoverAsync(app, Math.Max(12, samples / 2), report);
            Console.WriteLine("Azure Storage backend: what one verification that fails over costs...");
            await CountFailoverAsync(app, graph, report);
        }

        Console.WriteLine();
        Console.WriteLine(report.Render());
        return 0;
    }

    private static string NextNumber() => $"+49151{30_000_000 + Interlocked.Increment(ref s_number)}";

    /// <param name="clientIp">The visitor's address, as a sign-in page passes it (clientIp): its usage row is counted too.</param>
    private static async Task<string> StartAsync(BenchApp app, string? clientIp = null)
    {
        if (!PhoneNumber.TryParse(NextNumber(), out var number))
        {
            throw new InvalidOperationException("The benchmark's numbers must be valid.");
        }

        var result = await app.Verifications.StartAsync(new StartRequest(number, ClientSubjects: clientIp is null ? [] : [$"ip:{clientIp}"]), app.Client, CancellationToken.None);
        Assert(result.Outcome == StartOutcome.Started, $"a start was {result.Outcome}");
        return result.Verification!.Id;
    }

    private static async Task<string> AwaitWhatsAppAsync(WhatsAppCloudApiStandIn graph, string id)
    {
        await WaitUntilAsync(() => WhatsAppAt.ContainsKey($"v1:{id}"), TimeSpan.FromSeconds(60));
        return graph.Received.First(r => r.CallbackData == $"v1:{id}").BodyCode;
    }

    private static async Task AwaitPhaseAsync(DurableTaskClient client, string id, string phase) =>
        await WaitUntilAsync(async () => (await client.GetInstanceAsync(id, getInputsAndOutputs: true))?.SerializedCustomStatus == $"\"{phase}\"", TimeSpan.FromSeconds(60));

    /// <summary>A right code against its floor: one point read and one conditional write on the same table.</summary>
    private static async Task MeasureCheckAsync(BenchApp app, WhatsAppCloudApiStandIn graph, int samples, Report report)
    {
        var pending = new List<(string Id, string Code)>();
        for (var i = 0; i < samples; i++)
        {
            var id = await StartAsync(app);
            pending.Add((id, await AwaitWhatsAppAsync(graph, id)));
        }

        foreach (var (id, _) in pending)
        {
            await AwaitPhaseAsync(app.Client, id, WorkflowPhases.AwaitingWhatsAppDelivery);
        }

        var floorTable = app.Table;
        var rows = new List<TableEntity>();
        for (var i = 0; i < samples; i++)
        {
            var row = new TableEntity($"floor-{Guid.NewGuid():N}", "verification") { ["Payload"] = new string('x', 600), ["AttemptsUsed"] = 0 };
            await floorTable.AddEntityAsync(row);
            rows.Add(row);
        }

        // Orchestrations that wait for a signal, for the floor that also tells one.
        var listeners = new List<string>();
        for (var i = 0; i < samples; i++)
        {
            listeners.Add(await app.Client.ScheduleNewOrchestrationInstanceAsync(BenchApp.Listen, "listen"));
        }

        var floor = new List<double>();
        var floorWithSignal = new List<double>();
        var check = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            // Interleaved, so that all see the same machine at the same moment.
            floor.Add(await TimeAsync(async () =>
            {
                var read = await floorTable.GetEntityAsync<TableEntity>(rows[i].PartitionKey, rows[i].RowKey);
                read.Value["AttemptsUsed"] = 1;
                await floorTable.UpdateEntityAsync(read.Value, read.Value.ETag, TableUpdateMode.Replace);
            }));
            floorWithSignal.Add(await TimeAsync(async () =>
            {
                var read = await floorTable.GetEntityAsync<TableEntity>(rows[i].PartitionKey, rows[i].RowKey);
                read.Value["AttemptsUsed"] = 2;
                await floorTable.UpdateEntityAsync(read.Value, read.Value.ETag, TableUpdateMode.Replace);
                await app.Client.RaiseEventAsync(listeners[i], "signal", "done");
            }));
            var (id, code) = pending[i];
            check.Add(await TimeAsync(async () =>
            {
                var result = await app.Verifications.CheckAsync(id, code, app.Client, CancellationToken.None);
                Assert(result.Outcome == CheckOutcome.Approved, $"a right code was {result.Outcome}");
            }));
        }

        report.Latency("check (right code)", check, "point read + conditional write", floor, "≤ 1.3× at p50");
        report.Latency("check (right code)", check, "the same + one durable signal", floorWithSignal, "explained");
    }

    /// <summary>A start against its floor: the rows it must write (verification, number lock, usage) and scheduling one orchestration.</summary>
    private static async Task MeasureStartAsync(BenchApp app, int samples, Report report)
    {
        var table = app.Table;
        var floor = new List<double>();
        var start = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            floor.Add(await TimeAsync(async () =>
            {
                var id = Guid.NewGuid().ToString("N");
                await table.AddEntityAsync(new TableEntity(id, "verification") { ["Payload"] = new string('x', 600) });
                var usage = $"floor-usage-{id}";
                var existing = await table.GetEntityIfExistsAsync<TableEntity>(usage, "usage");
                await table.AddEntityAsync(new TableEntity(usage, "usage") { ["Starts"] = "[]" });
                await table.AddEntityAsync(new TableEntity($"floor-lock-{id}", "lock") { ["VerificationId"] = id });
                await app.Client.ScheduleNewOrchestrationInstanceAsync(BenchApp.Noop, id);
                GC.KeepAlive(existing);
            }));
            start.Add(await TimeAsync(() => StartAsync(app)));
        }

        report.Latency("start", start, "its rows' writes + scheduling", floor, "explained");
    }

    /// <summary>Start → the WhatsApp request at the provider, against schedule → a bare orchestration's one activity.</summary>
    private static async Task MeasureFirstSendAsync(BenchApp app, int samples, Report report, string engine)
    {
        var bare = new List<double>();
        var app1 = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            var input = Guid.NewGuid().ToString("N");
            var t0 = Stopwatch.GetTimestamp();
            await app.Client.ScheduleNewOrchestrationInstanceAsync(BenchApp.Bare, input);
            await WaitUntilAsync(() => BenchApp.BareActivityAt.ContainsKey(input), TimeSpan.FromSeconds(60));
            bare.Add(Stopwatch.GetElapsedTime(t0, BenchApp.BareActivityAt[input]).TotalMilliseconds);

            t0 = Stopwatch.GetTimestamp();
            var id = await StartAsync(app);
            await WaitUntilAsync(() => WhatsAppAt.ContainsKey($"v1:{id}"), TimeSpan.FromSeconds(60));
            app1.Add(Stopwatch.GetElapsedTime(t0, WhatsAppAt[$"v1:{id}"]).TotalMilliseconds);
        }

        report.Latency($"start → WhatsApp request ({engine})", app1, "schedule → bare activity", bare, "≤ 1.1× at p50 and p99");
    }

    /// <summary>The SMS request's time minus (the WhatsApp request's time + WhatsAppDeliveryTimeout).</summary>
    private static async Task MeasureFailoverAsync(BenchApp app, int samples, Report report)
    {
        var timeout = FailoverTimeout;
        var late = new ConcurrentBag<double>();
        await Parallel.ForEachAsync(Enumerable.Range(0, samples), new ParallelOptions { MaxDegreeOfParallelism = 12 }, async (_, _) =>
        {
            var id = await StartAsync(app);
            await WaitUntilAsync(() => SmsAt.ContainsKey($"v1:{id}"), TimeSpan.FromSeconds(60));
            late.Add((Stopwatch.GetElapsedTime(WhatsAppAt[$"v1:{id}"], SmsAt[$"v1:{id}"]) - timeout).TotalMilliseconds);
        });

        report.Absolute("failover precision: SMS − (WhatsApp + timeout)", late, "p99 ≤ 1,000 ms");
    }

    /// <summary>Whole verifications per second (start, WhatsApp, right code, workflow done) against bare orchestrations per second.</summary>
    private static async Task MeasureThroughputAsync(BenchApp app, WhatsAppCloudApiStandIn graph, TimeSpan duration, Report report)
    {
        const int workers = 16;
        async Task<double> RunAsync(Func<Task> cycle)
        {
            var done = 0;
            var until = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
            {
                while (Stopwatch.GetTimestamp() < until)
                {
                    await cycle();
                    Interlocked.Increment(ref done);
                }
            }));
            return done / clock.Elapsed.TotalSeconds;
        }

        var bare = await RunAsync(async () =>
        {
            var id = await app.Client.ScheduleNewOrchestrationInstanceAsync(BenchApp.Bare, Guid.NewGuid().ToString("N"));
            await app.Client.WaitForInstanceCompletionAsync(id);
        });
        var verifications = await RunAsync(async () =>
        {
            var id = await StartAsync(app);
            var code = await AwaitWhatsAppAsync(graph, id);
            var check = await app.Verifications.CheckAsync(id, code, app.Client, CancellationToken.None);
            Assert(check.Outcome == CheckOutcome.Approved, $"a right code was {check.Outcome}");
            await app.Client.WaitForInstanceCompletionAsync(id);
        });

        report.Throughput($"sustained, {workers} clients", verifications, bare, "≥ 0.9×");
    }

    /// <summary>Counts, not estimates, what one verification costs on the happy path and on a failover.</summary>
    private static async Task CountAsync(BenchApp app, WhatsAppCloudApiStandIn graph, Report report)
    {
        await Task.Delay(2000);

        // Happy path: started from a sign-in page that passes the visitor's address, WhatsApp delivered, the right code.
        app.AppRequests.Start();
        app.BackendRequests.Start();
        var id = await StartAsync(app, clientIp: "203.0.113.7");
        var start = app.AppRequests.Stop();
        app.AppRequests.Start();
        var code = await AwaitWhatsAppAsync(graph, id);
        await AwaitPhaseAsync(app.Client, id, WorkflowPhases.AwaitingWhatsAppDelivery);
        var send = app.AppRequests.Stop();
        app.AppRequests.Start();
        // What a real WhatsApp sends for a message that reaches its user: sent, delivered, read.
        var wamid = graph.Received.First(r => r.CallbackData == $"v1:{id}").MessageId;
        foreach (var status in new[] { "sent", "delivered", "read" })
        {
            var body = Encoding.UTF8.GetBytes($$$"""{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","statuses":[{"id":"{{{wamid}}}","status":"{{{status}}}","timestamp":"{{{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}}}","recipient_id":"4915100000000","biz_opaque_callback_data":"v1:{{{id}}}"}]}}]}]}""");
            await app.WhatsAppWebhook.NotifyAsync(body, WhatsAppSignature.Compute(body, AppSecret), app.Client, CancellationToken.None);
        }

        await AwaitPhaseAsync(app.Client, id, WorkflowPhases.WhatsAppConfirmed);
        var webhook = app.AppRequests.Stop();
        app.AppRequests.Start();
        var check = await app.Verifications.CheckAsync(id, code, app.Client, CancellationToken.None);
        Assert(check.Outcome == CheckOutcome.Approved, "the right code approves");
        var checkOps = app.AppRequests.Stop();
        await app.Client.WaitForInstanceCompletionAsync(id);
        var backend = app.BackendRequests.Stop();
        var history = await HistoryAsync(app, id);

        report.Count("happy path: app table operations", start.Count + send.Count + webhook.Count + checkOps.Count);
        report.Operations("start", start, id);
        report.Operations("send on WhatsApp", send, id);
        report.Operations("status webhooks: sent, delivered, read", webhook, id);
        report.Operations("check", checkOps, id);
        report.Count("happy path: durable history events", history.Events);
        report.Count("happy path: activity calls", history.Activities);
        report.Count("happy path: queue messages sent (task hub)", backend.Count(IsEnqueue));
        report.Count("happy path: task hub table operations (history, instances)", backend.Count(r => IsHubTable(r, app)));
    }

    /// <summary>
    /// The SMS path as it mostly happens: WhatsApp stays silent, the delivery wait times out, the SMS goes out, the
    /// right code. Counted on the app whose delivery wait is short.
    /// </summary>
    private static async Task CountFailoverAsync(BenchApp app, WhatsAppCloudApiStandIn graph, Report report)
    {
        await Task.Delay(2000);
        app.AppRequests.Start();
        app.BackendRequests.Start();
        var id = await StartAsync(app, clientIp: "203.0.113.8");
        var code = await AwaitWhatsAppAsync(graph, id);
        await WaitUntilAsync(() => SmsAt.ContainsKey($"v1:{id}"), TimeSpan.FromSeconds(60));
        await AwaitPhaseAsync(app.Client, id, WorkflowPhases.SmsSent);
        var check = await app.Verifications.CheckAsync(id, code, app.Client, CancellationToken.None);
        Assert(check.Outcome == CheckOutcome.Approved, "the right code approves");
        await app.Client.WaitForInstanceCompletionAsync(id);
        var smsApp = app.AppRequests.Stop();
        var smsBackend = app.BackendRequests.Stop();
        var smsHistory = await HistoryAsync(app, id);
        report.Count("SMS path (WhatsApp silent, timeout): app table operations", smsApp.Count);
        report.Operations("whole SMS path", smsApp, id);
        report.Count("SMS path: durable history events", smsHistory.Events);
        report.Count("SMS path: activity calls", smsHistory.Activities);
        report.Count("SMS path: queue messages sent (task hub)", smsBackend.Count(IsEnqueue));
        report.Count("SMS path: task hub table operations (history, instances)", smsBackend.Count(r => IsHubTable(r, app)));
    }

    private static bool IsEnqueue(string request) =>
        request.StartsWith("POST", StringComparison.Ordinal) && request.Contains("/messages", StringComparison.Ordinal);

    private static bool IsHubTable(string request, BenchApp app) =>
        request.Contains($"{app.TaskHub}History", StringComparison.Ordinal) || request.Contains($"{app.TaskHub}Instances", StringComparison.Ordinal);

    private static async Task<(int Events, int Activities)> HistoryAsync(BenchApp app, string id)
    {
        var history = new TableClient(Azurite.ConnectionString, $"{app.TaskHub}History");
        var events = 0;
        var activities = 0;
        await foreach (var row in history.QueryAsync<TableEntity>(r => r.PartitionKey == id))
        {
            if (row.RowKey == "sentinel")
            {
                continue;
            }

            events++;
            activities += row.GetString("EventType") == "TaskScheduled" ? 1 : 0;
        }

        return (events, activities);
    }

    private static async Task<double> TimeAsync(Func<Task> operation)
    {
        var t0 = Stopwatch.GetTimestamp();
        await operation();
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException("The benchmark waited too long.");
            }

            await Task.Delay(2);
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!await condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException("The benchmark waited too long.");
            }

            await Task.Delay(10);
        }
    }

    private static void Assert(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"The benchmark went wrong: {what}.");
        }
    }

    /// <summary>The figures, as a Markdown table: each a ratio against a baseline of the same run.</summary>
    private sealed class Report
    {
        private readonly List<string> _rows = [];
        private readonly List<string> _counts = [];

        public void Latency(string what, List<double> measured, string baseline, List<double> floor, string target)
        {
            var (p50, p99) = (Quantile(measured, 0.5), Quantile(measured, 0.99));
            var (b50, b99) = (Quantile(floor, 0.5), Quantile(floor, 0.99));
            _rows.Add(Invariant($"| {what} | {p50:F1} / {p99:F1} ms | {baseline}: {b50:F1} / {b99:F1} ms | **{p50 / b50:F2}×** / {p99 / b99:F2}× | {target} |"));
        }

        public void Absolute(string what, IEnumerable<double> measured, string target)
        {
            var list = measured.ToList();
            _rows.Add(Invariant($"| {what} | {Quantile(list, 0.5):F0} / {Quantile(list, 0.99):F0} ms | (absolute) | | {target} |"));
        }

        public void Throughput(string what, double measured, double baseline, string target) =>
            _rows.Add(Invariant($"| {what} | {measured:F1} verifications/s | bare one-activity orchestrations: {baseline:F1}/s | **{measured / baseline:F2}×** | {target} |"));

        public void Count(string what, int count) => _counts.Add(Invariant($"| {what} | {count} |"));

        public void Operations(string call, IReadOnlyList<string> requests, string id)
        {
            var described = requests.Select(r => Describe(r, id)).GroupBy(d => d).Select(g => g.Count() > 1 ? $"{g.Key} ×{g.Count()}" : g.Key);
            _counts.Add($"| — {call} ({requests.Count}) | {string.Join("; ", described)} |");
        }

        public string Render() =>
            "| figure | measured (p50 / p99) | baseline, same run | ratio (p50 / p99) | target |\n| --- | --- | --- | --- | --- |\n" +
            string.Join('\n', _rows) +
            "\n\n| counted for one verification | |\n| --- | --- |\n" +
            string.Join('\n', _counts);

        private static string Describe(string request, string id)
        {
            var verb = request.Split(' ')[0] switch { "GET" => "read", "DELETE" => "delete", "PUT" => "replace", "POST" => "insert", "MERGE" => "merge", var other => other };
            var what = request.Contains("usage-number-", StringComparison.Ordinal) ? "number's usage row"
                : request.Contains("usage-client-", StringComparison.Ordinal) ? "client's usage row"
                : request.Contains("budget-sms-", StringComparison.Ordinal) ? "region's SMS budget row"
                : request.Contains("msg-", StringComparison.Ordinal) ? "message index"
                : request.Contains(id, StringComparison.Ordinal) ? "verification row"
                : "another row";
            return $"{verb} {what}";
        }

        private static double Quantile(List<double> values, double quantile)
        {
            var sorted = values.Order().ToList();
            return sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Count) - 1, 0, sorted.Count - 1)];
        }

        private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
    }
}
