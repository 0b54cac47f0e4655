using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using OtpFailover.Verifications;

namespace OtpFailover.Callbacks;

public enum CallbackUrlProblem
{
    None,

    /// <summary>Callbacks are off (no <c>Callbacks:SigningKey</c>), or no host is allowed for a start's own URL.</summary>
    NotEnabled,

    /// <summary>Not an absolute http(s) URL, too long, or it carries user information or a fragment.</summary>
    Malformed,

    /// <summary>http where only https is allowed (everywhere but local development).</summary>
    NotHttps,

    /// <summary>The host is not in <c>Callbacks:AllowedHosts</c>.</summary>
    HostNotAllowed,
}

/// <summary>
/// Which URLs callbacks may go to. A start's own <c>callbackUrl</c> must name a host in
/// <see cref="CallbackOptions.AllowedHosts"/>, so that a caller cannot point the service at an internal address; the
/// global <see cref="CallbackOptions.Url"/> is the operator's own. Both must be https outside local development
/// (<c>AZURE_FUNCTIONS_ENVIRONMENT</c> <c>Development</c>).
/// </summary>
public sealed class CallbackUrlPolicy(IOptions<CallbackOptions> options, IConfiguration? configuration = null)
{
    public const int MaxUrlLength = 2048;

    private readonly AllowedHost[] _allowedHosts = ParseHosts(options.Value.AllowedHosts);

    private bool AllowHttp => string.Equals(configuration?[VerificationOptionsValidator.EnvironmentSetting], "Development", StringComparison.OrdinalIgnoreCase);

    /// <summary>Judges a start's own <c>callbackUrl</c>.</summary>
    public CallbackUrlProblem Check(string url, out Uri? callbackUrl)
    {
        callbackUrl = null;
        if (!options.Value.Enabled || _allowedHosts.Length == 0)
        {
            return CallbackUrlProblem.NotEnabled;
        }

        var problem = CheckShape(url, AllowHttp, out var parsed);
        if (problem != CallbackUrlProblem.None)
        {
            return problem;
        }

        if (!IsAllowed(parsed!))
        {
            return CallbackUrlProblem.HostNotAllowed;
        }

        callbackUrl = parsed;
        return CallbackUrlProblem.None;
    }

    /// <summary>Where a verification's events go: its own URL, else the global one, else nowhere.</summary>
    public Uri? Resolve(Uri? requested)
    {
        if (!options.Value.Enabled)
        {
            return null;
        }

        return requested ?? (string.IsNullOrWhiteSpace(options.Value.Url) ? null : new Uri(options.Value.Url, UriKind.Absolute));
    }

    /// <summary>An absolute https URL (http where <paramref name="allowHttp"/>) without user information or a fragment.</summary>
    internal static CallbackUrlProblem CheckShape(string url, bool allowHttp, out Uri? parsed)
    {
        parsed = null;
        if (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || !string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Fragment) || string.IsNullOrEmpty(uri.Host))
        {
            return CallbackUrlProblem.Malformed;
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !allowHttp)
        {
            return CallbackUrlProblem.NotHttps;
        }

        parsed = uri;
        return CallbackUrlProblem.None;
    }

    public CallbackOptions Settings => options.Value;

    /// <summary>
    /// Whether a verification's stored URL may still be called: callbacks are on, and it is the global URL, or its host
    /// is still allowed (a host taken off the list, or a key removed, stops the deliveries in flight too).
    /// </summary>
    public bool StillAllows(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!options.Value.Enabled)
        {
            return false;
        }

        if (Resolve(null) is { } global && global == url)
        {
            return true;
        }

        return CheckShape(url.AbsoluteUri, AllowHttp, out _) == CallbackUrlProblem.None && IsAllowed(url);
    }

    /// <summary>The host matches an entry (exactly, or a subdomain of a <c>*.</c> entry), and so does the port: the entry's, or the scheme's default.</summary>
    private bool IsAllowed(Uri url)
    {
        var host = url.IdnHost.TrimEnd('.').ToLowerInvariant();
        foreach (var allowed in _allowedHosts)
        {
            var hostMatches = allowed.Host.StartsWith("*.", StringComparison.Ordinal)
                ? host.EndsWith(allowed.Host[1..], StringComparison.Ordinal) && host.Length > allowed.Host.Length - 1
                : host == allowed.Host;
            var portMatches = allowed.Port is { } port ? url.Port == port : url.IsDefaultPort;
            if (hostMatches && portMatches)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>An entry of <c>Callbacks:AllowedHosts</c>: a host (or <c>*.</c> and a domain), and a port when it names one.</summary>
    internal sealed record AllowedHost(string Host, int? Port, bool Valid);

    internal static AllowedHost[] ParseHosts(string? hosts) =>
        (hosts ?? string.Empty).Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(ParseHost)
            .ToArray();

    private static AllowedHost ParseHost(string entry)
    {
        // host, host:port, [v6], [v6]:port
        var portAt = entry.StartsWith('[') ? entry.IndexOf("]:", StringComparison.Ordinal) + 1 : entry.LastIndexOf(':');
        var (host, portText) = portAt > 0 ? (entry[..portAt], entry[(portAt + 1)..]) : (entry, null);
        host = host.TrimEnd('.').ToLowerInvariant();
        int? port = null;
        var valid = true;
        if (portText is not null)
        {
            valid = int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number is > 0 and <= 65535;
            port = valid ? number : null;
        }

        var bare = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
        valid &= bare.Length > 0 && !bare.Contains('*', StringComparison.Ordinal) && Uri.CheckHostName(bare.Trim('[', ']')) != UriHostNameType.Unknown;
        return new AllowedHost(host, port, valid);
    }
}

/// <summary>Checks the key's format and the global URL at start-up, so a wrong setting stops the app, not a callback.</summary>
public sealed class CallbackOptionsValidator(IConfiguration configuration) : IValidateOptions<CallbackOptions>
{
    public const int MinimumKeyBytes = 24;
    public const int MaximumKeyBytes = 64;

    public ValidateOptionsResult Validate(string? name, CallbackOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var section = CallbackOptions.SectionName;
        if (options.Enabled)
        {
            if (CallbackSigner.TryDecodeKey(options.SigningKey!, out var key))
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
            }
            else
            {
                failures.Add($"{section}:{nameof(CallbackOptions.SigningKey)} must be 'whsec_' and Base64 of {MinimumKeyBytes} to {MaximumKeyBytes} random bytes (for example 'whsec_' + `openssl rand -base64 32`).");
            }
        }

        var wantsCallbacks = !string.IsNullOrWhiteSpace(options.Url) || !string.IsNullOrWhiteSpace(options.AllowedHosts);
        if (wantsCallbacks && !options.Enabled)
        {
            failures.Add($"{section}:{nameof(CallbackOptions.SigningKey)} is required when {section}:{nameof(CallbackOptions.Url)} or {section}:{nameof(CallbackOptions.AllowedHosts)} is set: callbacks are always signed.");
        }

        if (!string.IsNullOrWhiteSpace(options.Url))
        {
            var development = string.Equals(configuration[VerificationOptionsValidator.EnvironmentSetting], "Development", StringComparison.OrdinalIgnoreCase);
            switch (CallbackUrlPolicy.CheckShape(options.Url, development, out _))
            {
                case CallbackUrlProblem.Malformed:
                    failures.Add($"{section}:{nameof(CallbackOptions.Url)} must be an absolute https URL without user information or a fragment.");
                    break;
                case CallbackUrlProblem.NotHttps:
                    failures.Add($"{section}:{nameof(CallbackOptions.Url)} must be https (http only where {VerificationOptionsValidator.EnvironmentSetting} is Development).");
                    break;
            }
        }

        foreach (var host in CallbackUrlPolicy.ParseHosts(options.AllowedHosts).Where(h => !h.Valid))
        {
            failures.Add($"{section}:{nameof(CallbackOptions.AllowedHosts)} entry '{host.Host}' is not a host name with an optional port (use 'hooks.example.com', 'hooks.example.com:8443' or '*.example.com').");
        }

        if (options.FirstRetryInterval > options.MaximumRetryInterval)
        {
            failures.Add($"{section}:{nameof(CallbackOptions.FirstRetryInterval)} must not be longer than {section}:{nameof(CallbackOptions.MaximumRetryInterval)}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
