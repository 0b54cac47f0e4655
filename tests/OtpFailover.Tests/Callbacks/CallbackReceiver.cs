using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtpFailover.Tests.Infrastructure;
using StandardWebhooks;

namespace OtpFailover.Tests.Callbacks;

/// <summary>One request the receiver got, whether it accepted it or not.</summary>
public sealed record ReceivedCallback(string? Id, string? Type, int? Sequence, string Body, bool SignatureValid, int AnsweredWith, DateTimeOffset At);

/// <summary>
/// A customer's backend on 127.0.0.1: it checks every callback's signature with an independent Standard Webhooks
/// library (and answers 401 when it does not verify), and answers what the test scripts (204 by default).
/// </summary>
public sealed class CallbackReceiver : IAsyncDisposable
{
    public static readonly string SigningKey = "whsec_" + Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedCallback> _received = new();
    private readonly string _verifyKey;

    private CallbackReceiver(WebApplication app, string verifyKey)
    {
        _app = app;
        _verifyKey = verifyKey;
    }

    /// <summary>What to answer a valid callback: given it and how many times its id came before. Default: 204.</summary>
    public Func<ReceivedCallback, int, HttpStatusCode> Answer { get; set; } = (_, _) => HttpStatusCode.NoContent;

    /// <summary>Headers to add to a scripted answer (a Location for a redirect, a Retry-After).</summary>
    public IDictionary<string, string> AnswerHeaders { get; } = new ConcurrentDictionary<string, string>();

    public Uri Url => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hooks/otp");

    public IReadOnlyList<ReceivedCallback> Received => [.. _received];

    /// <summary>The events accepted (2xx), once each, in the order they were first accepted.</summary>
    public IReadOnlyList<ReceivedCallback> Accepted =>
        Received.Where(r => r.SignatureValid && r.AnsweredWith is >= 200 and < 300).DistinctBy(r => r.Id).ToList();

    /// <summary>
    /// Turns callbacks on in a test app: signed with <see cref="SigningKey"/>, the receivers' hosts and ports (and
    /// <c>*.example.com</c>) allowed, quick retries, and http allowed where <paramref name="environment"/> is Development.
    /// </summary>
    public static void UseIn(IServiceCollection services, CallbackReceiver[] receivers, Action<OtpFailover.Callbacks.CallbackOptions>? configure = null, string environment = "Development")
    {
        var callbacks = new OtpFailover.Callbacks.CallbackOptions
        {
            SigningKey = SigningKey,
            AllowedHosts = string.Join(", ", receivers.Select(r => $"127.0.0.1:{r.Url.Port}").Append("*.example.com")),
            FirstRetryInterval = TimeSpan.FromMilliseconds(300),
            MaximumRetryInterval = TimeSpan.FromSeconds(1),
        };
        configure?.Invoke(callbacks);
        services.AddSingleton(Microsoft.Extensions.Options.Options.Create(callbacks));
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AZURE_FUNCTIONS_ENVIRONMENT"] = environment }).Build());
    }

    public static async Task<CallbackReceiver> StartAsync(string? verifyKey = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new CallbackReceiver(app, verifyKey ?? SigningKey);
        app.MapPost("/hooks/otp", receiver.HandleAsync);
        await app.StartAsync();
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        var valid = true;
        try
        {
            new StandardWebhook(_verifyKey).Verify(body, context.Request.Headers);
        }
        catch (Exception ex) when (ex is StandardWebhooks.Diagnostics.WebhookVerificationException or FormatException)
        {
            valid = false;
        }

        string? id = null, type = null;
        int? sequence = null;
        if (valid)
        {
            using var json = JsonDocument.Parse(body);
            id = json.RootElement.GetProperty("id").GetString();
            type = json.RootElement.GetProperty("type").GetString();
            sequence = json.RootElement.GetProperty("sequence").GetInt32();
            Assert.Equal(id, context.Request.Headers["webhook-id"].ToString());
        }

        var seen = _received.Count(r => r.Id is not null && r.Id == id);
        var status = valid ? Answer(new ReceivedCallback(id, type, sequence, body, valid, 0, DateTimeOffset.UtcNow), seen) : HttpStatusCode.Unauthorized;
        _received.Enqueue(new ReceivedCallback(id, type, sequence, body, valid, (int)status, DateTimeOffset.UtcNow));
        foreach (var (name, value) in AnswerHeaders)
        {
            context.Response.Headers[name] = value;
        }

        context.Response.StatusCode = (int)status;
    }

    public async Task<IReadOnlyList<ReceivedCallback>> WaitForAcceptedAsync(params string[] types)
    {
        await Eventually.WaitUntilAsync(
            () => Task.FromResult(types.All(t => Accepted.Any(r => r.Type == t))),
            TimeSpan.FromSeconds(45),
            $"callbacks {string.Join(", ", types)}; received: {string.Join(", ", Received.Select(r => $"{r.Type}:{r.AnsweredWith}"))}");
        return Accepted;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
