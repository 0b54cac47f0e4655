using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpFailover.Functions.Webhooks;
using OtpFailover.Simulator;
using OtpFailover.Sms;
using OtpFailover.Tests.Http;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Tests.Sms;
using OtpFailover.Tests.WhatsApp;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using Xunit.Abstractions;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Durability;

/// <summary>
/// Many verifications at once, every kind of life a verification can have, on the Azure Storage backend through the
/// real provider clients against the stand-ins. Every one must end as its kind says, with exactly one SMS per
/// failover, exact attempt counts and no number left locked. <c>OTPFAILOVER_LOAD_SIZE</c> sets the size (CI runs a
/// smaller one); it prints throughput and latencies.
/// </summary>
public sealed class LoadTests(ITestOutputHelper output) : IAsyncLifetime
{
    public const int CiSize = 240;

    private WhatsAppCloudApiStandIn _graph = null!;
    private AcsSmsStandIn _acs = null!;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _whatsAppAt = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _smsAt = new();

    /// <summary>How a verification lives; the kind is chosen by its index, so every size holds every kind.</summary>
    private enum Kind
    {
        Delivered,
        Read,
        Silent,
        NotOnWhatsApp,
        SmsFails,
        WrongCodesToTheLimit,
        Canceled,
        Resend,
        RightCodeAtOnce,
    }

    public async Task InitializeAsync()
    {
        _graph = await WhatsAppStandIns.StartGraphApiAsync();
        _acs = await AcsStandIns.StartAsync();
        _graph.Answer = (template, _) => KindOf(template.To) == Kind.NotOnWhatsApp
            ? StandInAnswer.GraphError(400, WhatsAppErrorCodes.Undeliverable, "Message undeliverable")
            : StandInAnswer.Accept;
        _graph.Accepted = template => _whatsAppAt.TryAdd(template.CallbackData!, DateTimeOffset.UtcNow);
        _acs.SmsSent = sms => _smsAt.TryAdd(sms.Tag!, DateTimeOffset.UtcNow);
    }

    public async Task DisposeAsync()
    {
        await _graph.DisposeAsync();
        await _acs.DisposeAsync();
    }

    private static int Size => int.TryParse(Environment.GetEnvironmentVariable("OTPFAILOVER_LOAD_SIZE"), CultureInfo.InvariantCulture, out var size) && size > 0 ? size : CiSize;

    private static string NumberFor(int index) => $"+49151{20_000_000 + index}";

    private static Kind KindOf(string e164OrDigits) =>
        (Kind)((int.Parse(e164OrDigits.TrimStart('+')[5..], CultureInfo.InvariantCulture) - 20_000_000) % Enum.GetValues<Kind>().Length);

    [Fact]
    public async Task ManyVerificationsAtOnce_EveryKindOfLife_EndRight_WithOneSmsPerFailover_AndNoNumberLocked()
    {
        var tableRequests = 0;
        var counted = new Azure.Data.Tables.TableClientOptions();
        counted.AddPolicy(new CountingPolicy(() => Interlocked.Increment(ref tableRequests)), Azure.Core.HttpPipelinePosition.PerRetry);
        await using var app = await TestApp.StartAsync(
            o => (o.WhatsAppDeliveryTimeout, o.CodeLifetime, o.MaxCheckAttempts) = (TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(10), 5),
            backend: DurableBackend.AzureStorage,
            services: s =>
            {
                s.AddSingleton(new Azure.Data.Tables.TableServiceClient(Azurite.ConnectionString, counted));
                s.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
                WhatsAppStandIns.UseCloudApi(s, _graph.BaseUrl);
                AcsStandIns.UseAcs(s, AcsStandIns.Settings(_acs));
            },
            abuse: a => a.SmsPerCountryPerHourByCountry["DE"] = 100_000,
            partitionCount: 4);
        var whatsAppWebhook = new WhatsAppStatusWebhook(app.WhatsAppWebhook);
        var smsWebhook = new AcsDeliveryReportWebhook(app.SmsDeliveryReports);
        var size = Size;
        var startLatencies = new ConcurrentBag<double>();
        var firstMessageLatencies = new ConcurrentBag<double>();
        var checkLatencies = new ConcurrentBag<double>();
        var results = new ConcurrentDictionary<int, (string Id, Kind Kind)>();
        var clock = Stopwatch.StartNew();

        await Parallel.ForEachAsync(Enumerable.Range(0, size), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (index, _) =>
        {
            var number = NumberFor(index);
            var kind = KindOf(number);
            var started = DateTimeOffset.UtcNow;
            var watch = Stopwatch.StartNew();
            var response = await ExecuteAsync(await app.Api.StartVerification(Json("POST", "/api/verifications", $$"""{"phoneNumber":"{{number}}"}"""), app.Client, default));
            startLatencies.Add(watch.Elapsed.TotalMilliseconds);
            Assert.True(response.Status == 202, response.Body);
            var id = response.Json.GetProperty("id").GetString()!;
            results[index] = (id, kind);
            var tag = $"v1:{id}";

            async Task<string> WhatsAppCodeAsync()
            {
                await Eventually.WaitUntilAsync(() => _whatsAppAt.ContainsKey(tag), TestApp.FlowTimeout, $"the WhatsApp message of {id}");
                firstMessageLatencies.Add((_whatsAppAt[tag] - started).TotalMilliseconds);
                return _graph.Received.First(r => r.CallbackData == tag).BodyCode;
            }

            async Task<SentSms> SmsAsync()
            {
                await Eventually.WaitUntilAsync(() => _smsAt.ContainsKey(tag), TestApp.FlowTimeout, $"the SMS of {id}");
                return _acs.Sent.First(s => s.Tag == tag);
            }

            async Task<WireResponse> CheckAsync(string code)
            {
                var check = Stopwatch.StartNew();
                var answer = await ExecuteAsync(await app.Api.CheckCode(Json("POST", "/", $$"""{"code":"{{code}}"}"""), id, app.Client, default));
                checkLatencies.Add(check.Elapsed.TotalMilliseconds);
                return answer;
            }

            async Task StatusAsync(string status)
            {
                var wamid = _graph.Received.First(r => r.CallbackData == tag).MessageId;
                var body = WhatsAppNotifications.Build([new WhatsAppNotifications.Status(wamid, status, DateTimeOffset.UtcNow.ToUnixTimeSeconds(), tag)]);
                var request = Json("POST", "/api/webhooks/whatsapp", System.Text.Encoding.UTF8.GetString(body));
                request.Headers[WhatsAppSignature.HeaderName] = WhatsAppSignature.Compute(body, TestSecrets.AppSecret);
                Assert.Equal(200, (await ExecuteAsync(await whatsAppWebhook.WhatsAppStatusNotification(request, app.Client, default))).Status);
            }

            switch (kind)
            {
                case Kind.Delivered or Kind.Read:
                    var code = await WhatsAppCodeAsync();
                    await StatusAsync(kind == Kind.Read ? "read" : "delivered");
                    Assert.Equal(200, (await CheckAsync(code)).Status);
                    break;
                case Kind.Silent:
                    await WhatsAppCodeAsync();
                    Assert.Equal(200, (await CheckAsync(Code(await SmsAsync()))).Status);
                    break;
                case Kind.NotOnWhatsApp:
                    Assert.Equal(200, (await CheckAsync(Code(await SmsAsync()))).Status);
                    break;
                case Kind.SmsFails:
                    await WhatsAppCodeAsync();
                    var sms = await SmsAsync();
                    var report = new DefaultHttpContext().Request;
                    report.Method = "POST";
                    report.Headers[AcsDeliveryReportHandler.KeyHeader] = TestSecrets.SmsWebhookKey;
                    report.Body = new MemoryStream(EventGridEvents.EventGridSchema(EventGridEvents.DeliveryReport(sms.MessageId, "Failed", sms.Tag, details: "Carrier refused")));
                    Assert.Equal(200, (await ExecuteAsync(await smsWebhook.AcsDeliveryReports(report, app.Client, default))).Status);
                    break;
                case Kind.WrongCodesToTheLimit:
                    var right = await WhatsAppCodeAsync();
                    await StatusAsync("delivered");
                    for (var attempt = 1; attempt <= 5; attempt++)
                    {
                        Assert.Equal(422, (await CheckAsync(right == "000000" ? "111111" : "000000")).Status);
                    }

                    Assert.Equal(410, (await CheckAsync(right)).Status);
                    break;
                case Kind.Canceled:
                    await WhatsAppCodeAsync();
                    Assert.Equal(204, (await ExecuteAsync(await app.Api.CancelVerification(Json("DELETE", "/"), id, app.Client, default))).Status);
                    break;
                case Kind.Resend:
                    await WhatsAppCodeAsync();
                    await StatusAsync("delivered");
                    Assert.Equal(202, (await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), id, app.Client, default))).Status);
                    Assert.Equal(200, (await CheckAsync(Code(await SmsAsync()))).Status);
                    break;
                case Kind.RightCodeAtOnce:
                    Assert.Equal(200, (await CheckAsync(await WhatsAppCodeAsync())).Status);
                    break;
            }
        });

        foreach (var (id, _) in results.Values)
        {
            await app.WaitForCompletionAsync(id);
        }

        var elapsed = clock.Elapsed;
        var operations = Volatile.Read(ref tableRequests);

        // Every verification ended as its kind says, with exactly the messages and attempts it should have.
        var smsPerVerification = _acs.Sent.GroupBy(s => s.Tag!).ToDictionary(g => g.Key, g => g.Count());
        var whatsAppPerVerification = _graph.Received.GroupBy(r => r.CallbackData!).ToDictionary(g => g.Key, g => g.Count());
        foreach (var (id, kind) in results.Values)
        {
            var verification = await app.GetAsync(id);
            var expected = kind switch
            {
                Kind.SmsFails => VerificationStatus.Failed,
                Kind.WrongCodesToTheLimit => VerificationStatus.MaxAttemptsReached,
                Kind.Canceled => VerificationStatus.Canceled,
                _ => VerificationStatus.Approved,
            };
            var failover = kind is Kind.Silent or Kind.NotOnWhatsApp or Kind.SmsFails or Kind.Resend;
            Assert.True(expected == verification.Status, $"{kind} {id}: {verification.Status} {string.Join(", ", verification.Timeline.Select(e => $"{e.Type} {e.Reason} {e.Detail}"))}");
            Assert.Equal(failover ? 1 : 0, smsPerVerification.GetValueOrDefault($"v1:{id}"));
            Assert.Equal(1, whatsAppPerVerification.GetValueOrDefault($"v1:{id}"));
            Assert.Equal(kind == Kind.WrongCodesToTheLimit ? 5 : 0, verification.AttemptsUsed);
        }

        Assert.Empty(await NumbersInFlight.ListAsync(app.Table));
        output.WriteLine($"{size} verifications on the Azure Storage backend (4 partitions, Azurite) in {elapsed.TotalSeconds:F1} s: {size / elapsed.TotalSeconds:F1} verifications/s (each lives seconds: the failovers wait out a 5 s WhatsApp timeout)");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"app table operations: {operations} in all, {(double)operations / size:F1} per verification (this mix; docs/capacity.md has them per path)"));
        output.WriteLine($"start                  {Describe(startLatencies)}");
        output.WriteLine($"start -> WhatsApp sent {Describe(firstMessageLatencies)}");
        output.WriteLine($"check                  {Describe(checkLatencies)}");
    }

    private static string Code(SentSms sms) => sms.Message[..6];

    private static string Describe(IEnumerable<double> milliseconds)
    {
        var sorted = milliseconds.Order().ToList();
        double At(double quantile) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(quantile * sorted.Count) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"p50 {At(0.5),7:F0} ms   p99 {At(0.99),7:F0} ms   max {sorted[^1],7:F0} ms   (n = {sorted.Count})");
    }

    /// <summary>Counts the requests of the app's table client.</summary>
    private sealed class CountingPolicy(Action count) : Azure.Core.Pipeline.HttpPipelinePolicy
    {
        public override void Process(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline)
        {
            count();
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(Azure.Core.HttpMessage message, ReadOnlyMemory<Azure.Core.Pipeline.HttpPipelinePolicy> pipeline)
        {
            count();
            return ProcessNextAsync(message, pipeline);
        }
    }
}
