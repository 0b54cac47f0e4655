using Microsoft.Extensions.Configuration;

namespace OtpFailover.Configuration;

/// <summary>Which environment the Functions host says it runs in.</summary>
public static class HostEnvironment
{
    /// <summary>The host's environment setting; <c>Development</c> under Core Tools.</summary>
    public const string EnvironmentSetting = "AZURE_FUNCTIONS_ENVIRONMENT";

    /// <summary>Whether the app runs in local development (<see cref="EnvironmentSetting"/> is <c>Development</c>).</summary>
    public static bool IsDevelopment(IConfiguration? configuration) =>
        string.Equals(configuration?[EnvironmentSetting], "Development", StringComparison.OrdinalIgnoreCase);
}
