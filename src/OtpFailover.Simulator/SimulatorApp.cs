using System.Net;
using System.Text;
using Microsoft.Extensions.Options;

namespace OtpFailover.Simulator;

/// <summary>Builds the simulator: provider endpoints, inbox and behaviour pages, and the try-it panel's proxy.</summary>
public static class SimulatorApp
{
    public const string DefaultUrl = "http://127.0.0.1:7171";

    /// <remarks>
    /// The defaults live in code, not in an appsettings.json: a Web project's appsettings.json is copied into every
    /// project that references it, where its <c>Urls</c> would redirect other hosts.
    /// </remarks>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning).AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.Services.AddOptions<SimulatorOptions>().Bind(builder.Configuration.GetSection(SimulatorOptions.SectionName)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<PhoneSimulator>();
        builder.Services.AddHttpClient(PhoneSimulator.FunctionAppClient, (sp, http) =>
        {
            var options = sp.GetRequiredService<IOptions<SimulatorOptions>>().Value;
            http.BaseAddress = new Uri(options.FunctionAppUrl.TrimEnd('/') + "/");
            http.Timeout = TimeSpan.FromSeconds(30);
            if (!string.IsNullOrEmpty(options.FunctionKey))
            {
                http.DefaultRequestHeaders.Add("x-functions-key", options.FunctionKey);
            }
        });
        configure?.Invoke(builder);

        var app = builder.Build();
        var phones = app.Services.GetRequiredService<PhoneSimulator>();
        phones.WhatsApp.Map(app);
        phones.Sms.Map(app);

        app.MapGet("/", () => Results.Content(SimulatorPages.Home(phones), "text/html; charset=utf-8"));
        app.MapGet("/inbox/{number}", (string number) => Results.Content(SimulatorPages.Inbox(phones, number), "text/html; charset=utf-8"));
        app.MapGet("/api/inbox/{number}", (string number) => Results.Json(new
        {
            number = PhoneSimulator.Digits(number),
            whatsApp = phones.BehaviourOf(number).WhatsApp.ToString(),
            sms = phones.BehaviourOf(number).Sms.ToString(),
            messages = phones.Inbox(number).Select(m => new { m.Channel, m.Text, m.Code, m.State, m.ReceivedAt }),
        }));
        app.MapPost("/inbox/{number}/behaviour", async (string number, HttpRequest request) =>
        {
            var form = await request.ReadFormAsync();
            if (!Enum.TryParse<WhatsAppBehaviour>(form["whatsApp"], out var whatsApp) || !Enum.TryParse<SmsBehaviour>(form["sms"], out var sms))
            {
                return Results.Problem(statusCode: 400, title: "Unknown behaviour.");
            }

            phones.Choose(number, whatsApp, sms);
            return Results.Redirect($"/inbox/{PhoneSimulator.Digits(number)}");
        });

        // The try-it panel talks to the function app through here, so the browser needs no CORS setup.
        var functionApp = app.Services.GetRequiredService<IHttpClientFactory>();
        app.MapPost("/try/verifications", (HttpRequest request) => ProxyAsync(functionApp, HttpMethod.Post, "api/verifications", request));
        app.MapGet("/try/verifications/{id}", (string id, HttpRequest request) => ProxyAsync(functionApp, HttpMethod.Get, $"api/verifications/{Uri.EscapeDataString(id)}", request));
        app.MapPost("/try/verifications/{id}/check", (string id, HttpRequest request) => ProxyAsync(functionApp, HttpMethod.Post, $"api/verifications/{Uri.EscapeDataString(id)}/check", request));
        app.MapPost("/try/verifications/{id}/resend", (string id, HttpRequest request) => ProxyAsync(functionApp, HttpMethod.Post, $"api/verifications/{Uri.EscapeDataString(id)}/resend", request));
        return app;
    }

    private static async Task<IResult> ProxyAsync(IHttpClientFactory factory, HttpMethod method, string path, HttpRequest incoming)
    {
        using var body = new MemoryStream();
        await incoming.Body.CopyToAsync(body);
        using var request = new HttpRequestMessage(method, path);
        if (body.Length > 0)
        {
            request.Content = new ByteArrayContent(body.ToArray());
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        try
        {
            using var response = await factory.CreateClient(PhoneSimulator.FunctionAppClient).SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var result = Results.Content(text, response.Content.Headers.ContentType?.ToString() ?? "application/json", Encoding.UTF8, (int)response.StatusCode);
            return response.Headers.RetryAfter is { } retryAfter ? new WithHeader(result, "Retry-After", retryAfter.ToString()) : result;
        }
        catch (HttpRequestException)
        {
            return Results.Problem(statusCode: (int)HttpStatusCode.BadGateway, title: "The function app is not reachable.", detail: "Start it with func start (see the README).");
        }
    }

    /// <summary>Passes a header of the function app's answer on to the browser (<c>Retry-After</c> on a 429).</summary>
    private sealed class WithHeader(IResult inner, string name, string value) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers[name] = value;
            return inner.ExecuteAsync(httpContext);
        }
    }
}
