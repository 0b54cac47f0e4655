namespace OtpFailover.Configuration;

/// <summary>A list in one setting: items separated by commas, semicolons or spaces (App Service takes one string).</summary>
public static class SettingList
{
    public static IEnumerable<string> Split(string? value) =>
        (value ?? string.Empty).Split([',', ';', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
