using System.ComponentModel.DataAnnotations;
using OtpFailover.AzureCommunication;

namespace OtpFailover.Sms;

/// <summary>
/// The <c>Sms</c> configuration section: Azure Communication Services. The channel is on when a connection string
/// (HMAC signing) or an endpoint (Entra ID, a managed identity in Azure) is set.
/// </summary>
public sealed class SmsOptions
{
    public const string SectionName = "Sms";

    /// <summary><c>endpoint=https://{resource}.communication.azure.com/;accesskey={key}</c>. Prefer <see cref="Endpoint"/> in Azure.</summary>
    public string? ConnectionString { get; set; }

    /// <summary><c>https://{resource}.communication.azure.com</c>, authenticated with Entra ID.</summary>
    [Url(ErrorMessage = "Sms:Endpoint must be an absolute URL such as https://contoso.communication.azure.com.")]
    public string? Endpoint { get; set; }

    /// <summary>The client id of a user-assigned managed identity, when <see cref="Endpoint"/> is used.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>The sender: an E.164 number of the resource, a short code, or an alphanumeric sender id.</summary>
    [RegularExpression(@"^(\+[1-9][0-9]{7,14}|[0-9]{3,8}|[A-Za-z0-9 ]{1,11})\z", ErrorMessage = "Sms:From must be an E.164 number (+18005550100), a short code, or an alphanumeric sender id of up to 11 characters.")]
    public string? From { get; set; }

    /// <summary>When set, the SMS ends with <c>@{domain} #{code}</c> so browsers can fill the code in (WebOTP).</summary>
    [RegularExpression(@"^(?=.{1,50}\z)([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}\z", ErrorMessage = "Sms:WebOtpDomain must be a lower-case host name of at most 50 characters, such as app.contoso.com.")]
    public string? WebOtpDomain { get; set; }

    /// <summary>The key Event Grid must present (query <c>key</c> or header <c>X-Webhook-Key</c>) when it delivers reports.</summary>
    public string? WebhookKey { get; set; }

    [RegularExpression(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?\z", ErrorMessage = "Sms:ApiVersion must look like 2021-03-07.")]
    public string ApiVersion { get; set; } = "2021-03-07";

    [Range(typeof(TimeSpan), "00:00:01", "00:01:00", ErrorMessage = "Sms:RequestTimeout must be between {1} and {2}.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    [Range(1, 6, ErrorMessage = "Sms:MaxSendAttempts must be between {1} and {2}.")]
    public int MaxSendAttempts { get; set; } = 4;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionString) || !string.IsNullOrWhiteSpace(Endpoint);
}

public sealed class SmsOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<SmsOptions>
{
    public const int MinimumWebhookKeyLength = 16;

    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, SmsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.IsConfigured)
        {
            return Microsoft.Extensions.Options.ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.ConnectionString) && !AcsConnectionString.TryParse(options.ConnectionString, out _))
        {
            failures.Add("Sms:ConnectionString must be endpoint=https://{resource}.communication.azure.com/;accesskey={Base64 key}.");
        }

        if (string.IsNullOrWhiteSpace(options.From))
        {
            failures.Add("Sms:From is required when SMS is configured: a number, short code or sender id of the Communication Services resource.");
        }

        if ((options.WebhookKey?.Length ?? 0) < MinimumWebhookKeyLength)
        {
            failures.Add($"Sms:WebhookKey is required when SMS is configured: at least {MinimumWebhookKeyLength} random characters that Event Grid presents with delivery reports.");
        }

        return failures.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures);
    }
}
