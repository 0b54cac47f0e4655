using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using OtpFailover.Configuration;

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

    private readonly byte[] _bucketKey = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    private bool AllowHttp => HostEnvironment.IsDevelopment(configuration);

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
            || !string.IsNullOrEmpty(uri.UserInfo) || !string.IsNullOrEmpty(uri.Fragment) || string.IsNullOrEmpty(uri.Host)
            || NormalHost(uri) is null)
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

    /// <summary>How many pipelines (circuits) the hosts under one allowed-host entry are spread over.</summary>
    public const int PipelineBucketsPerEntry = 16;

    /// <summary>
    /// Which resilience pipeline (and circuit breaker) a delivery uses: for a start's own URL, its allowed-host entry's
    /// and one of <see cref="PipelineBucketsPerEntry"/> buckets by host (so one tenant's receiver that is down does not
    /// open every tenant's circuit); else the global URL's. Bounded by the settings, whatever hosts callers name.
    /// </summary>
    public string PipelineKeyFor(Uri? url)
    {
        if (url is null || EntryFor(url) is not { } entry || NormalHost(url) is not { } host)
        {
            return url is null ? "none" : "global";
        }

        // Keyed with a secret of this process, so that a caller cannot pick subdomains that land in a victim's bucket.
        var bucket = System.Security.Cryptography.HMACSHA256.HashData(_bucketKey, System.Text.Encoding.UTF8.GetBytes(host))[0] % PipelineBucketsPerEntry;
        return $"entry:{entry}#{bucket}";
    }

    /// <summary>The host matches an entry (exactly, or a subdomain of a <c>*.</c> entry), and so does the port: the entry's, or the scheme's default.</summary>
    private bool IsAllowed(Uri url) => EntryFor(url) is not null;

    /// <summary>
    /// The entry of <c>Callbacks:AllowedHosts</c> a URL matches, or null. Hosts compare in the form DNS sees them
    /// (punycode, lower case, no trailing dot, IPv6 without brackets), so an entry matches the URLs it names.
    /// </summary>
    internal string? EntryFor(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (NormalHost(url) is not { } host)
        {
            return null;
        }

        foreach (var allowed in _allowedHosts.Where(a => a.Valid))
        {
            // A wildcard matches whole labels: *.example.com takes a.example.com, never evilexample.com.
            var hostMatches = allowed.Host.StartsWith("*.", StringComparison.Ordinal)
                ? host.EndsWith(allowed.Host[1..], StringComparison.Ordinal) && host.Length > allowed.Host.Length - 1
                : host == allowed.Host;
            var portMatches = allowed.Port is { } port ? url.Port == port : url.IsDefaultPort;
            if (hostMatches && portMatches)
            {
                return allowed.Port is { } entryPort ? $"{allowed.Host}:{entryPort}" : allowed.Host;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether <c>*.</c> may stand before a domain: a name of at least two labels (never a whole top-level domain, nor
    /// <c>localhost</c>), whose last label is not a number (<c>*.1.2.3</c> would match the address 10.1.2.3).
    /// </summary>
    private static bool IsWildcardDomain(string domain)
    {
        var labels = domain.Split('.');
        return labels.Length >= 2 && labels.All(l => l.Length > 0) && !labels[^1].All(char.IsAsciiDigit)
            && Uri.CheckHostName(domain) == UriHostNameType.Dns;
    }

    /// <summary>
    /// The host as DNS sees it: punycode (IDNA), lower case, without a trailing dot, IPv6 without brackets; null for a
    /// host that is not a valid IDN (<see cref="Uri.IdnHost"/> throws for some that <see cref="Uri.TryCreate(string?, UriKind, out Uri?)"/> took).
    /// </summary>
    internal static string? NormalHost(Uri url)
    {
        try
        {
            return url.IdnHost.Trim('[', ']').TrimEnd('.').ToLowerInvariant() is { Length: > 0 } host ? host : null;
        }
        catch (UriFormatException)
        {
            return null;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>An entry of <c>Callbacks:AllowedHosts</c>: a host (or <c>*.</c> and a domain), and a port when it names one.</summary>
    internal sealed record AllowedHost(string Host, int? Port, bool Valid);

    internal static AllowedHost[] ParseHosts(string? hosts) =>
        SettingList.Split(hosts)
            .Select(ParseHost)
            .ToArray();

    /// <summary>
    /// An entry as URLs are read: <c>host</c>, <c>host:port</c>, <c>[v6]</c>, <c>[v6]:port</c> or <c>*.domain</c>,
    /// with a Unicode name in punycode and an IPv6 address without brackets, so that it can match (an entry kept as
    /// written, <c>[::1]</c> or <c>bücher.example</c>, would never equal a URL's host). An entry that is none of these
    /// is not <see cref="AllowedHost.Valid"/>, and start-up refuses it.
    /// </summary>
    private static AllowedHost ParseHost(string entry)
    {
        var wildcard = entry.StartsWith("*.", StringComparison.Ordinal);
        var rest = wildcard ? entry[2..] : entry;
        // Read as a URL's authority, as the callback URLs are; a wildcard's domain with a label in front of it.
        if (rest.Length == 0 || rest.Contains('*', StringComparison.Ordinal) || rest.IndexOfAny(['/', '?', '#', '@', '\\', ' ']) >= 0
            || !Uri.TryCreate($"https://{(wildcard ? "x." : string.Empty)}{rest}/", UriKind.Absolute, out var uri)
            || NormalHost(uri) is not { } host || (wildcard && !IsWildcardDomain(host[2..])) || uri.Port == 0)
        {
            return new AllowedHost(entry.ToLowerInvariant(), null, false);
        }

        var namesPort = rest.StartsWith('[') ? rest.Contains("]:", StringComparison.Ordinal) : rest.Contains(':', StringComparison.Ordinal);
        return new AllowedHost(wildcard ? $"*.{host[2..]}" : host, namesPort ? uri.Port : null, true);
    }
}
