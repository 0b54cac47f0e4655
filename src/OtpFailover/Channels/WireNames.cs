using System.Reflection;
using System.Text.Json.Serialization;

namespace OtpFailover.Channels;

/// <summary>The API's names for enum values (<c>max_attempts_reached</c>, <c>send_error</c>, <c>whatsapp</c>).</summary>
public static class WireNames
{
    public static string Of<TEnum>(TEnum value)
        where TEnum : struct, Enum
    {
        var name = value.ToString();
        var member = typeof(TEnum).GetField(name, BindingFlags.Public | BindingFlags.Static);
        return member?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? name;
    }
}
