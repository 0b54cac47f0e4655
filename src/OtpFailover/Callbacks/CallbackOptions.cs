using System.ComponentModel.DataAnnotations;

namespace OtpFailover.Callbacks;

/// <summary>
/// The <c>Callbacks</c> configuration section: where a verification's status events go, and the key that signs them
/// (Standard Webhooks). Off until <see cref="SigningKey"/> is set.
/// </summary>
public sealed class CallbackOptions
{
    public const string SectionName = "Callbacks";

    /// <summary>The receiver of every verification started without a <c>callbackUrl</c> of its own. Empty: none.</summary>
    public string? Url { get; set; }

    /// <summary>
    /// The hosts a start's own <c>callbackUrl</c> may name, comma-separated: <c>hooks.example.com</c> exactly, or
    /// <c>*.example.com</c> for its subdomains. Empty: a start may not name a callback URL.
    /// </summary>
    public string? AllowedHosts { get; set; }

    /// <summary>
    /// The Standard Webhooks signing secret: <c>whsec_</c> and Base64 of 24 to 64 random bytes. Required for callbacks.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>How long one event is retried (with backoff) before the verification's remaining events are given up.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "7.00:00:00", ErrorMessage = "Callbacks:RetryFor must be between {1} and {2}.")]
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The first wait after a failed delivery; each next wait doubles, up to <see cref="MaximumRetryInterval"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Callbacks:FirstRetryInterval must be between {1} and {2}.")]
    public TimeSpan FirstRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    [Range(typeof(TimeSpan), "00:00:01", "06:00:00", ErrorMessage = "Callbacks:MaximumRetryInterval must be between {1} and {2}.")]
    public TimeSpan MaximumRetryInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Whether callbacks may connect to private addresses (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7), for a
    /// receiver inside your virtual network. Off: a listed name that resolves to one is refused at connect time.
    /// Loopback is allowed only in local development; link-local (cloud metadata), multicast and reserved addresses
    /// never.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; }

    /// <summary>How long one delivery may take before it counts as failed.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00", ErrorMessage = "Callbacks:RequestTimeout must be between {1} and {2}.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public bool Enabled => !string.IsNullOrWhiteSpace(SigningKey);
}
