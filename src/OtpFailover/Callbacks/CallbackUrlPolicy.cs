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

    private bool AllowHttp => VerificationOptionsValidator.IsDevelopment(configuration);

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
        return (Resolve(null) is { } global && global == url) || Check(url.AbsoluteUri, out _) == CallbackUrlProblem.None;
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
        Abuse.SettingList.Split(hosts)
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
