using System.Text.Json;
using System.Text.Json.Serialization;
using OtpFailover.Channels;

namespace OtpFailover.Callbacks;

/// <summary>
/// One status event as the customer's backend receives it. It never holds the code or the phone number.
/// </summary>
/// <param name="Id">The event's id, also in <c>webhook-id</c>: the same on every retry, so a receiver drops repeats by it.</param>
/// <param name="Sequence">The event's place in the verification's life: events go out in this order, one at a time.</param>
/// <param name="Channel">The channel the event is about; for an ending, the channel the code went by last.</param>
/// <param name="Reason">Why a failover happened (<c>timeout</c>, <c>failed</c>, <c>send_error</c>, <c>requested</c>, <c>unverified</c>).</param>
public sealed record CallbackEvent(
    string Id,
    string Type,
    string VerificationId,
    int Sequence,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ClientReference,
    DateTimeOffset OccurredAt,
    Channel Channel,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, Json);
}
