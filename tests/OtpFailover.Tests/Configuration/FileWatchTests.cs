using OtpFailover.Tests.Infrastructure;

namespace OtpFailover.Tests.Configuration;

/// <summary>The test hosts do not spend the machine's inotify instances (see <see cref="TestProcessSettings"/>).</summary>
[Collection(nameof(Telemetry.ProcessTracing))] // alone: other tests' hosts would change the count
public sealed class FileWatchTests
{
    [SkippableFact]
    public async Task TheHostsTestsBuild_WatchNoConfigurationFile()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "Counts the process's inotify instances in /proc.");
        var before = InotifyInstances();

        await using (var app = await TestApp.StartAsync())
        {
            await using var graph = await new OtpFailover.Simulator.WhatsAppCloudApiStandIn(TestSecrets.AccessToken, TestSecrets.PhoneNumberId, TestSecrets.ApiVersion, TestSecrets.TemplateName, TestSecrets.TemplateLanguage).StartAsync();
            Assert.Equal(before, InotifyInstances());
        }
    }

    private static int InotifyInstances() =>
        new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos().Count(fd => fd.LinkTarget == "anon_inode:inotify");
}
