using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using OtpFailover.Channels;
using OtpFailover.PhoneNumbers;
using OtpFailover.Storage;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;
using static OtpFailover.Tests.Http.HttpTestRequests;

namespace OtpFailover.Tests.Verifications;

/// <summary>The edge defects a review found, each reproduced: they failed before their fix.</summary>
public sealed class EdgeDefectTests
{
    private static string Wrong(string code) => code == "000000" ? "111111" : "000000";

    [Fact]
    public async Task ARefusedSms_AfterWhatsAppDelivered_AndAResend_KeepsTheVerificationPending_AndTheWhatsAppCodeWorks()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        app.Sms.Respond = (_, _) => ChannelSendResult.Rejected("sms_recipient_400");
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Delivered, DateTimeOffset.UtcNow, null, app.Client, default);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.WhatsAppConfirmed);

        var resend = await app.Verifications.ResendAsync(verification.Id, app.Client, default);
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsFailed);

        Assert.Equal(ChangeOutcome.Done, resend.Outcome);
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Pending, stored.Status);
        Assert.Equal("sms_recipient_400", Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.SmsFailed).Detail);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
        Assert.Equal(VerificationStatus.Approved, (await app.WaitForCompletionAsync(verification.Id)).ReadOutputAs<VerificationStatus>());
    }

    [Fact]
    public async Task ARefusedSms_AfterAnUnverifiedFailover_KeepsTheVerificationPending()
    {
        await using var app = await TestApp.StartAsync(o => (o.WhatsAppDeliveryTimeout, o.FailoverIfUnverifiedAfter) = (TimeSpan.FromSeconds(25), TimeSpan.FromSeconds(2)));
        app.Sms.Respond = (_, _) => ChannelSendResult.Rejected("sms_http_400");
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();
        await app.Verifications.ApplyWhatsAppStatusAsync(verification.Id, DeliveryStatus.Read, DateTimeOffset.UtcNow, null, app.Client, default);

        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsFailed);

        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Pending, stored.Status);
        Assert.Equal("unverified", Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.Failover).Reason);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task AnSmsWhoseOutcomeIsUnknown_CountsAsSent_AndTheVerificationWaitsForTheUser()
    {
        await using var app = await TestApp.StartAsync();
        app.WhatsApp.Respond = (_, _) => ChannelSendResult.Rejected("whatsapp_131026_undeliverable");
        app.Sms.Respond = (_, _) => ChannelSendResult.Unknown("sms_repeatability_rejected");
        var verification = await app.StartAsync("+14155550123");
        var sms = await app.Sms.WaitForMessageAsync();

        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.SmsSent);

        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(VerificationStatus.Pending, stored.Status);
        Assert.Equal(VerificationActivities.OutcomeUnknown, Assert.Single(stored.Timeline, e => e.Type == TimelineEventTypes.SmsSent).Detail);
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, sms.Code, app.Client, default)).Outcome);
    }

    [Fact]
    public async Task NoCodeIsSent_OnceTheVerificationHasExpired_EvenWhileItStillSaysPending()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await TestApp.StartAsync(time: time);
        var id = await TestRows.InsertBareAsync(app, "+14155550123", time.GetUtcNow());
        time.Advance(TimeSpan.FromMinutes(10));

        var sms = await app.Activities.SendCodeAsync(new SendCodeRequest(id, Channel.Sms, FailoverReason.Timeout, After: Channel.WhatsApp), default);
        var whatsApp = await app.Activities.SendCodeAsync(new SendCodeRequest(id, Channel.WhatsApp), default);

        Assert.False(sms.Sent);
        Assert.False(whatsApp.Sent);
        Assert.Equal(VerificationStatus.Expired, sms.Status);
        Assert.Equal(0, app.Sms.Calls);
        Assert.Equal(0, app.WhatsApp.Calls);
        Assert.Equal(VerificationStatus.Expired, (await app.GetAsync(id)).Status);
    }

    [Theory]
    [InlineData(0)] // the very moment the code's lifetime ends
    [InlineData(1)]
    [InlineData(3600)] // an hour late: the expiry step's timer was lost with a crashed worker
    public async Task ARightCode_PastItsExpiry_IsNeverApproved_WhateverTheRowStillSays(int secondsLate)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await TestApp.StartAsync(time: time);
        var id = await TestRows.InsertBareAsync(app, "+14155550123", time.GetUtcNow());
        var row = (await app.GetAsync(id))!;
        Assert.Equal(VerificationStatus.Pending, row.Status);
        time.SetUtcNow(row.ExpiresAt + TimeSpan.FromSeconds(secondsLate));
        var code = app.Services.GetRequiredService<OtpFailover.Codes.CodeGenerator>().Derive(id, row.CodeLength);

        var check = await app.Verifications.CheckAsync(id, code, app.Client, default);
        var api = await ExecuteAsync(await app.Api.CheckCode(Json("POST", "/", $$"""{"code":"{{code}}"}"""), id, app.Client, default));

        Assert.NotEqual(CheckOutcome.Approved, check.Outcome);
        Assert.NotEqual(VerificationStatus.Approved, (await app.GetAsync(id)).Status);
        Assert.NotEqual(200, api.Status);
        Assert.DoesNotContain("\"approved\"", api.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AResendWhoseSignalCannotBeDelivered_IsTakenBack_Answering503_AndCanBeAskedAgain()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, _) = await app.StartAndAwaitWhatsAppAsync();
        await using var unreachable = new GrpcDurableTaskClient(
            "unreachable",
            new GrpcDurableTaskClientOptions { Address = $"http://127.0.0.1:{AzureStorageDurableHost.FreeLoopbackPort()}" },
            NullLogger.Instance);

        var lost = await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), verification.Id, unreachable, default));

        Assert.Equal(503, lost.Status);
        Assert.Equal("urn:otpfailover:problem:temporarily-unavailable", lost.ProblemType);
        Assert.Equal("5", lost.Headers["Retry-After"]);
        Assert.False((await app.GetAsync(verification.Id)).ResendRequested);

        var again = await ExecuteAsync(await app.Api.ResendCode(Json("POST", "/"), verification.Id, app.Client, default));
        Assert.Equal(202, again.Status);
        await app.Sms.WaitForMessageAsync();
    }

    [Fact]
    public async Task ARightCode_ReadsItsRowAndItsNumbersBudget_AndWritesOnlyItsRow()
    {
        var counter = new CountRequests();
        var options = new TableClientOptions();
        options.AddPolicy(counter, HttpPipelinePosition.PerCall);
        await using var app = await TestApp.StartAsync(services: s => s.AddSingleton(new TableServiceClient(Azurite.ConnectionString, options)));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync("+4915112345678");
        await app.WaitForPhaseAsync(verification.Id, WorkflowPhases.AwaitingWhatsAppDelivery);

        counter.Requests.Clear();
        Assert.Equal(CheckOutcome.Approved, (await app.Verifications.CheckAsync(verification.Id, code, app.Client, default)).Outcome);

        // Its row, the number's usage row (the wrong-code budget, burst included), and the write approving its row.
        var requests = counter.Requests.ToList();
        Assert.Equal(["GET", "GET", "PUT"], requests.Select(r => r.Method));
        Assert.Contains(verification.Id, requests[0].Uri, StringComparison.Ordinal);
        Assert.DoesNotContain(verification.Id, requests[1].Uri, StringComparison.Ordinal);
        Assert.Contains(verification.Id, requests[2].Uri, StringComparison.Ordinal);
    }

    /// <summary>Every request the app's table client makes, in order.</summary>
    private sealed class CountRequests : HttpPipelinePolicy
    {
        public System.Collections.Concurrent.ConcurrentQueue<(string Method, string Uri)> Requests { get; } = new();

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Requests.Enqueue((message.Request.Method.ToString(), Uri.UnescapeDataString(message.Request.Uri.ToString())));
            ProcessNext(message, pipeline);
        }

        public override ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            Requests.Enqueue((message.Request.Method.ToString(), Uri.UnescapeDataString(message.Request.Uri.ToString())));
            return ProcessNextAsync(message, pipeline);
        }
    }

    [Fact]
    public async Task ACodeWithATrailingNewline_IsNotACode_AndCostsNoAttempt()
    {
        await using var app = await TestApp.StartAsync(o => o.WhatsAppDeliveryTimeout = TimeSpan.FromSeconds(25));
        var (verification, code) = await app.StartAndAwaitWhatsAppAsync();

        var withNewline = await ExecuteAsync(await app.Api.CheckCode(Json("POST", "/", $$"""{"code":"{{code}}\n"}"""), verification.Id, app.Client, default));
        var wrongWithNewline = await ExecuteAsync(await app.Api.CheckCode(Json("POST", "/", $$"""{"code":"{{Wrong(code)}}\n"}"""), verification.Id, app.Client, default));

        Assert.Equal(400, withNewline.Status);
        Assert.Equal(400, wrongWithNewline.Status);
        var stored = await app.GetAsync(verification.Id);
        Assert.Equal(0, stored.AttemptsUsed);
        Assert.Equal(VerificationStatus.Pending, stored.Status);
    }
}
