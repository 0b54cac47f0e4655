using System.Net.Http.Json;
using System.Text.Json;

namespace OtpFailover.Channels;

/// <summary>Reading a provider's JSON answer: web casing, and null for a body that is not the JSON expected.</summary>
public static class ProviderJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static async Task<T?> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(response);
        try
        {
            return await response.Content.ReadFromJsonAsync<T>(Options, cancellationToken);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
