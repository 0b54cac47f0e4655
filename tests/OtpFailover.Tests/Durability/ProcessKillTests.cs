using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Azure.Data.Tables;
using OtpFailover.Simulator;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Tests.Sms;
using OtpFailover.Tests.WhatsApp;
using OtpFailover.WhatsApp;

namespace OtpFailover.Tests.Durability;

/// <summary>
/// The app in a child process on the Azure Storage backend (Azurite), killed with SIGKILL at the worst moments and
/// started again, as an operator would see after a crash: every verification must still reach its right end, with
/// exactly one SMS per failover, no WhatsApp message twice, no signal lost, and the number free when it should be.
/// </summary>
[Collection(nameof(ProcessKillTests))]
public sealed class ProcessKillTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly string _table = Azurite.UniqueTableName("kill");
    private readonly string _hub = $"kill{Guid.NewGuid():N}"[..16];
    private readonly string _markers = Path.Combine(Path.GetTempPath(), $"otpfailover-kill-{Guid.NewGuid():N}");
    private readonly string _codeKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private WhatsAppCloudApiStandIn _graph = null!;
    private AcsSmsStandIn _acs = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        await Azurite.EnsureRunningAsync();
        Directory.CreateDirectory(_markers);
        _graph = await WhatsAppStandIns.StartGraphApiAsync();
        _acs = await AcsStandIns.StartAsync();
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _graph.DisposeAsync();
        await _acs.DisposeAsync();
        Directory.Delete(_markers, recursive: true);
        await new TableServiceClient(Azurite.ConnectionString).DeleteTableAsync(_table);
        await new DurableTask.AzureStorage.AzureStorageOrchestrationService(new DurableTask.AzureStorage.AzureStorageOrchestrationServiceSettings
        {
            TaskHubName = _hub,
            StorageAccountClientProvider = new DurableTask.AzureStorage.StorageAccountClientProvider(Azurite.ConnectionString),
        }).DeleteAsync();
    }

    private string Marker(string name) => Path.Combine(_markers, name);

    private ChildHost Child(Dictionary<string, string>? extra = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = Azurite.ConnectionString,
            ["AZURE_FUNCTIONS_ENVIRONMENT"] = "Development",
            ["Storage__TableName"] = _table,
            ["Verification__CodeKey"] = _codeKey,
            ["Verification__CodeLifetime"] = "00:05:00",
            ["Verification__WhatsAppDeliveryTimeout"] = "00:00:15",
            ["Verification__ReconcileInterval"] = "00:00:10",
            ["Sms__ConnectionString"] = _acs.ConnectionString,
            ["Sms__From"] = "+18005550100",
            ["Sms__WebhookKey"] = TestSecrets.SmsWebhookKey,
            ["Sms__RequestTimeout"] = "00:00:30",
            ["TestHost__TaskHub"] = _hub,
            ["TestHost__WorkItemQueueVisibilityTimeout"] = "00:00:10",
            ["TestHost__LeaseInterval"] = "00:00:06",
        };
        foreach (var (key, value) in TestSecrets.WhatsAppSettings(_graph.BaseUrl))
        {
            environment[key.Replace(":", "__", StringComparison.Ordinal)] = value!;
        }

        foreach (var (key, value) in extra ?? [])
        {
            environment[key] = value;
        }

        return new ChildHost(environment);
    }

    [Fact]
    public async Task KilledWhileDeliveredSignalsAreInFlight_TheRowStillDecides_AndNoDeliveredVerificationFailsOver()
    {
        var hold = Marker("checkpoints");
        var settings = new Dictionary<string, string> { ["TestHost__HoldCheckpointsWhile"] = hold };
        var numbers = Enumerable.Range(1, 6).Select(i => $"+491511234560{i}").ToList();
        var ids = new List<string>();
        await using (var first = Child(settings))
        {
            await first.StartAsync();
            foreach (var number in numbers)
            {
                ids.Add(await StartAsync(first, number));
            }

            await Eventually.WaitUntilAsync(() => _graph.Received.Count >= numbers.Count, Patience, "every WhatsApp message");
            foreach (var id in ids)
            {
                await WaitForTimelineAsync(first, id, "whatsapp.sent");
            }

            await Task.Delay(1000); // every workflow has checkpointed its wait for the delivery status

            // WhatsApp reports three deliveries; each webhook is answered 200 (the rows say delivered), and the
            // worker takes their signals off the queue, but dies before it can record what it did with them.
            await File.WriteAllTextAsync(hold, "hold");
            foreach (var id in ids.Take(3))
            {
                await DeliveredAsync(first, id);
            }

            await first.WaitForLineAsync("HELD checkpoints", Patience);
            await Task.Delay(1500);
            await first.KillAsync();
        }

        File.Delete(hold);
        await using var second = Child(settings);
        await second.StartAsync();

        // The delivery timers fire on time after the restart, while the signals stay invisible for minutes.
        await Eventually.WaitUntilAsync(() => _acs.Sent.Count >= 3, Patience, $"the SMS for the three undelivered verifications\n{second.Output}");
        await Task.Delay(4000);

        Assert.Equal(numbers.Skip(3).Order(StringComparer.Ordinal), _acs.Sent.Select(s => s.To).Order(StringComparer.Ordinal));
        Assert.Equal(numbers.Count, _graph.Received.Count);
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            Assert.Equal(200, (int)(await CheckAsync(second, id, _graph.Received.Single(r => r.CallbackData == $"v1:{id}").BodyCode)).StatusCode);
            Assert.Equal("approved", (await GetAsync(second, id)).GetProperty("status").GetString());
            if (i < 3)
            {
                Assert.DoesNotContain("failover", await TimelineAsync(second, id));
            }
        }

        Assert.Empty(await NumbersInFlightAsync());
    }

    [Fact]
    public async Task KilledAfterTheSmsProviderTookTheMessage_ButBeforeItWasRecorded_TheRetryIsDeDuplicated_AndTheUserGetsOneSms()
    {
        var numbers = Enumerable.Range(1, 4).Select(i => $"+491511234570{i}").ToList();
        _graph.Answer = (_, _) => StandInAnswer.GraphError(400, WhatsAppErrorCodes.Undeliverable, "Message undeliverable");
        _acs.Answer = _ => AcsAnswer.SendThenHang;
        var ids = new List<string>();
        await using (var first = Child())
        {
            await first.StartAsync();
            foreach (var number in numbers)
            {
                ids.Add(await StartAsync(first, number));
            }

            // The provider has sent every SMS; none of its answers has come back.
            await Eventually.WaitUntilAsync(() => _acs.Sent.Count >= numbers.Count, Patience, "every SMS at the provider");
            await first.KillAsync();
        }

        _acs.Answer = _ => AcsAnswer.Accept;
        await using var second = Child();
        await second.StartAsync();

        foreach (var id in ids)
        {
            await WaitForTimelineAsync(second, id, "sms.sent");
        }

        Assert.Equal(numbers.Count, _acs.Sent.Count);
        Assert.Equal(numbers.Order(StringComparer.Ordinal), _acs.Sent.Select(s => s.To).Order(StringComparer.Ordinal));
        Assert.True(_acs.Requests.Count > numbers.Count, "the restarted activities repeated their sends");
        Assert.Equal(numbers.Count, _graph.Received.Count);
        foreach (var id in ids)
        {
            var code = System.Text.RegularExpressions.Regex.Match(_acs.Sent.Single(s => s.Tag == $"v1:{id}").Message, "^[0-9]{6}").Value;
            Assert.Equal(200, (int)(await CheckAsync(second, id, code)).StatusCode);
        }

        Assert.Empty(await NumbersInFlightAsync());
    }

    [Fact]
    public async Task KilledInTheMiddleOfARightCheck_TheApprovalStands_TheWorkflowEndsByReadingTheRow_AndTheNumberIsFree()
    {
        var hold = Marker("signal");
        var settings = new Dictionary<string, string> { ["TestHost__HoldQueueMessagesWhile"] = hold };
        string id;
        string code;
        await using (var first = Child(settings))
        {
            await first.StartAsync();
            id = await StartAsync(first, "+4915112345801");
            await Eventually.WaitUntilAsync(() => _graph.Received.Count >= 1, Patience, "the WhatsApp message");
            code = _graph.Received[0].BodyCode;
            await WaitForTimelineAsync(first, id, "whatsapp.sent");
            await DeliveredAsync(first, id);
            await WaitForTimelineAsync(first, id, "whatsapp.delivered");
            await Task.Delay(1500);

            // The check approves the row, and dies while it tells the workflow.
            await File.WriteAllTextAsync(hold, "hold");
            var check = CheckAsync(first, id, code);
            await first.WaitForLineAsync("HELD queue-message", Patience);
            await first.KillAsync();
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => check);
        }

        File.Delete(hold);
        await using var second = Child(settings);
        await second.StartAsync();

        Assert.Equal("approved", (await GetAsync(second, id)).GetProperty("status").GetString());
        var again = await CheckAsync(second, id, code);
        Assert.Equal(409, (int)again.StatusCode);
        await Eventually.WaitUntilAsync(async () => await RuntimeStatusAsync(id) == "Completed", Patience, $"the workflow to end by reading the row\n{second.Output}");

        Assert.Empty(await NumbersInFlightAsync());
        var next = await StartAsync(second, "+49 151 1234 5801");
        Assert.NotEqual(id, next);
        Assert.Equal("approved", (await GetAsync(second, id)).GetProperty("status").GetString());
        Assert.Empty(_acs.Sent);
    }

    private async Task<string> StartAsync(ChildHost host, string number)
    {
        var response = await _http.PostAsJsonAsync(new Uri(host.BaseUrl, "api/verifications"), new { phoneNumber = number });
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 202, $"{(int)response.StatusCode} {body}\n{host.Output}");
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private Task<HttpResponseMessage> CheckAsync(ChildHost host, string id, string code) =>
        _http.PostAsJsonAsync(new Uri(host.BaseUrl, $"api/verifications/{id}/check"), new { code });

    private async Task<JsonElement> GetAsync(ChildHost host, string id) =>
        await _http.GetFromJsonAsync<JsonElement>(new Uri(host.BaseUrl, $"api/verifications/{id}"));

    private async Task<List<string>> TimelineAsync(ChildHost host, string id) =>
        [.. (await GetAsync(host, id)).GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("type").GetString()!)];

    private async Task WaitForTimelineAsync(ChildHost host, string id, string type) =>
        await Eventually.WaitUntilAsync(async () => (await TimelineAsync(host, id)).Contains(type), Patience, $"{type} on {id}\n{host.Output}");

    /// <summary>A signed <c>delivered</c> status webhook, as Meta sends it, answered 200 and applied.</summary>
    private async Task DeliveredAsync(ChildHost host, string id)
    {
        var wamid = _graph.Received.Single(r => r.CallbackData == $"v1:{id}").MessageId;
        var body = WhatsAppNotifications.Build([new WhatsAppNotifications.Status(wamid, "delivered", DateTimeOffset.UtcNow.ToUnixTimeSeconds(), $"v1:{id}")]);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.BaseUrl, "api/webhooks/whatsapp")) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add(WhatsAppSignature.HeaderName, WhatsAppSignature.Compute(body, TestSecrets.AppSecret));
        using var response = await _http.SendAsync(request);
        var answer = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 200 && answer.Contains("\"applied\":1", StringComparison.Ordinal), answer);
    }

    /// <summary>The numbers whose latest verification is still pending.</summary>
    private async Task<List<string>> NumbersInFlightAsync() =>
        await NumbersInFlight.ListAsync(new TableClient(Azurite.ConnectionString, _table));

    private async Task<string?> RuntimeStatusAsync(string instanceId)
    {
        var instances = new TableClient(Azurite.ConnectionString, $"{_hub}Instances");
        var row = await instances.GetEntityIfExistsAsync<TableEntity>(instanceId, string.Empty);
        return row.HasValue ? row.Value!.GetString("RuntimeStatus") : null;
    }
}
