using OtpFailover.Simulator;

namespace OtpFailover.Tests.Simulator;

/// <summary>The one-command local run: its prerequisite check and its settings step (the whole run: <see cref="LocalRunUpTests"/>).</summary>
public sealed class LocalRunTests
{
    [Fact]
    public void MissingPrerequisites_NameWhatToInstall()
    {
        Assert.Empty(LocalRun.MissingPrerequisites((command, _) => command == "node" ? "v20.20.2" : "4.0.7030"));

        var noFunc = LocalRun.MissingPrerequisites((command, _) => command == "node" ? "v22.1.0" : null);
        Assert.Contains("Azure Functions Core Tools v4", Assert.Single(noFunc));
        Assert.Contains("npm install -g azure-functions-core-tools@4", noFunc[0]);

        var oldTools = LocalRun.MissingPrerequisites((command, _) => command == "node" ? "v18.19.0" : "3.0.4000");
        Assert.Equal(2, oldTools.Count);
        Assert.Contains("Node.js 20", oldTools[0]);
    }

    [Fact]
    public void VersionOf_ReadsARealCommand_AndIsNullForAMissingOne()
    {
        Assert.Matches(@"^\d+\.\d+", LocalRun.VersionOf("dotnet", "--version"));
        Assert.Null(LocalRun.VersionOf("no-such-command-otpfailover", "--version"));
    }

    [Fact]
    public void EnsureLocalSettings_CopiesTheSampleOnce_AndNeverOverwrites()
    {
        var root = Directory.CreateTempSubdirectory("otpfailover-localrun").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "src", "OtpFailover.Functions"));
            File.WriteAllText(Path.Combine(root, "Functions.sln"), string.Empty);
            File.WriteAllText(Path.Combine(root, "local.settings.sample.json"), "{\"Values\":{}}");
            var run = new LocalRun(root, TextWriter.Null);
            var target = Path.Combine(root, "src", "OtpFailover.Functions", "local.settings.json");

            Assert.True(run.EnsureLocalSettings());
            File.WriteAllText(target, "{\"edited\":true}");
            Assert.False(run.EnsureLocalSettings());

            Assert.Equal("{\"edited\":true}", File.ReadAllText(target));
            Assert.Equal(root, LocalRun.FindRepositoryRoot(Path.Combine(root, "src", "OtpFailover.Functions")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
