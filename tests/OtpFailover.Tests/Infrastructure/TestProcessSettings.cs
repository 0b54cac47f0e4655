using System.Runtime.CompilerServices;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>Settings of the test process, made before any test runs.</summary>
internal static class TestProcessSettings
{
    /// <summary>
    /// The tests build hundreds of hosts (durable test hosts, stand-ins, Functions hosts), many at once. By default
    /// each watches its configuration files with an inotify instance, and Linux allows a user 128 of them
    /// (<c>fs.inotify.max_user_instances</c>): past that, hosts fail to start. No test changes a configuration file
    /// while a host runs, so none is watched.
    /// </summary>
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "A test assembly: the setting must hold before the first host is built.")]
    internal static void DoNotWatchConfigurationFiles()
    {
        Environment.SetEnvironmentVariable("DOTNET_hostBuilder__reloadConfigOnChange", "false");
        Environment.SetEnvironmentVariable("ASPNETCORE_hostBuilder__reloadConfigOnChange", "false");
    }
}
