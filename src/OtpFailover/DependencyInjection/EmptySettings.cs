using Microsoft.Extensions.Configuration;

namespace OtpFailover.DependencyInjection;

/// <summary>
/// App Service, Bicep and Core Tools (on Windows) hand the app settings that are present but empty. An empty setting
/// means "not set": it must leave the option at its default, not fail to convert ("" is no number) or pass for a value.
/// </summary>
public static class EmptySettings
{
    /// <summary>
    /// The section as it would be if its empty settings were not there at all. Keys keep their full paths, so a value
    /// that does not convert is still reported by its setting's name (<c>Verification:FailoverWhen</c>).
    /// </summary>
    public static IConfigurationSection WithoutEmptyValues(this IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new ConfigurationBuilder()
            .AddInMemoryCollection(section.AsEnumerable().Where(setting => !string.IsNullOrWhiteSpace(setting.Value)))
            .Build()
            .GetSection(section.Path);
    }
}
