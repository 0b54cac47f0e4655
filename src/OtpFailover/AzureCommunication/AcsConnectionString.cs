using System.Diagnostics.CodeAnalysis;

namespace OtpFailover.AzureCommunication;

/// <summary>An Azure Communication Services connection string: <c>endpoint=https://…/;accesskey=…</c>.</summary>
public sealed record AcsConnectionString(Uri Endpoint, byte[] AccessKey)
{
    /// <summary>Parses the two keys, case-insensitively, in any order; the access key must be Base64.</summary>
    public static bool TryParse(string? value, [NotNullWhen(true)] out AcsConnectionString? connectionString)
    {
        connectionString = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        string? endpoint = null, accessKey = null;
        foreach (var part in value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var separator = part.IndexOf('=', StringComparison.Ordinal);
            if (separator <= 0)
            {
                return false;
            }

            var key = part[..separator].Trim();
            var item = part[(separator + 1)..].Trim();
            if (key.Equals("endpoint", StringComparison.OrdinalIgnoreCase))
            {
                endpoint = item;
            }
            else if (key.Equals("accesskey", StringComparison.OrdinalIgnoreCase))
            {
                accessKey = item;
            }
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || accessKey is null)
        {
            return false;
        }

        var buffer = new byte[accessKey.Length];
        if (!Convert.TryFromBase64String(accessKey, buffer, out var written) || written == 0)
        {
            return false;
        }

        connectionString = new AcsConnectionString(NormalizeEndpoint(uri), buffer[..written]);
        return true;
    }

    /// <summary>The endpoint without a trailing slash's ambiguity: always ending in exactly one <c>/</c>.</summary>
    public static Uri NormalizeEndpoint(Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return new Uri(endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/");
    }

    public override string ToString() => $"endpoint={Endpoint};accesskey=***";
}
