using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using OtpFailover.AzureCommunication;
using OtpFailover.EmailAddresses;

namespace OtpFailover.Email;

/// <summary>
/// The <c>Email</c> configuration section: Azure Communication Services Email. Authenticated like SMS, by the
/// connection string's key or by a managed identity for <see cref="Endpoint"/>. Delivery reports come through the
/// same Event Grid webhook as the SMS reports (its key is <c>Sms:WebhookKey</c>).
/// </summary>
public sealed class EmailOptions
{
    public const string SectionName = "Email";

    /// <summary><c>endpoint=https://…;accesskey=…</c>: HMAC-signed requests.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The resource's endpoint, for a managed identity (Entra ID) instead of a key.</summary>
    public string? Endpoint { get; set; }

    /// <summary>A user-assigned identity's client id, with <see cref="Endpoint"/>.</summary>
    public string? ManagedIdentityClientId { get; set; }

    /// <summary>The sender, an address of a domain linked to the resource (<c>DoNotReply@….azurecomm.net</c>).</summary>
    public string? From { get; set; }

    /// <summary>The REST API version; the one Microsoft's <c>@azure/communication-email</c> 1.1 uses.</summary>
    public string ApiVersion { get; set; } = "2025-09-01";

    [Range(typeof(TimeSpan), "00:00:01", "00:01:00", ErrorMessage = "Email:RequestTimeout must be between {1} and {2}.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    [Range(1, 6, ErrorMessage = "Email:MaxSendAttempts must be between {1} and {2}.")]
    public int MaxSendAttempts { get; set; } = 4;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(ConnectionString) || !string.IsNullOrWhiteSpace(Endpoint);
}

public sealed class EmailOptionsValidator : IValidateOptions<EmailOptions>
{
    public ValidateOptionsResult Validate(string? name, EmailOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.ConnectionString) && !AcsConnectionString.TryParse(options.ConnectionString, out _))
        {
            failures.Add("Email:ConnectionString must be 'endpoint=https://…;accesskey=…' (the Communication Services resource's Keys blade).");
        }

        if (!string.IsNullOrWhiteSpace(options.Endpoint) && (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme != Uri.UriSchemeHttps))
        {
            failures.Add("Email:Endpoint must be the resource's https endpoint.");
        }

        if (options.IsConfigured && !EmailAddress.TryParse(options.From, out _))
        {
            failures.Add("Email:From must be a sender address of a domain linked to the Communication Services resource (DoNotReply@<domain>).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
