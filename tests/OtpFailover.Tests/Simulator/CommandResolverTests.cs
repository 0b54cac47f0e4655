using OtpFailover.Simulator;

namespace OtpFailover.Tests.Simulator;

/// <summary>
/// Finding node, npx and func as each platform's shell would, with a made-up PATH, PATHEXT and file system, so
/// Windows, macOS and Linux are all covered on this Linux machine.
/// </summary>
public sealed class CommandResolverTests
{
    private static CommandEnvironment Windows(params string[] files) => new(
        IsWindows: true,
        Path: @"C:\Windows\system32;""C:\Program Files\nodejs"";C:\Users\ana\AppData\Roaming\npm",
        PathExt: ".COM;.EXE;.BAT;.CMD;.VBS",
        ComSpec: @"C:\Windows\system32\cmd.exe",
        IsExecutable: path => files.Contains(path, StringComparer.OrdinalIgnoreCase));

    private static CommandEnvironment Unix(string path, params string[] executables) => new(
        IsWindows: false, Path: path, PathExt: null, ComSpec: null, IsExecutable: executables.Contains);

    [Fact]
    public void OnWindows_NpmShimsAreFoundByPathExt_AndStartedThroughCmd()
    {
        var environment = Windows(@"C:\Program Files\nodejs\node.exe", @"C:\Program Files\nodejs\npx.cmd", @"C:\Users\ana\AppData\Roaming\npm\func.cmd");

        Assert.Equal(@"C:\Program Files\nodejs\node.exe", CommandResolver.Find("node", environment));
        Assert.Equal(@"C:\Program Files\nodejs\npx.cmd", CommandResolver.Find("npx", environment));

        var node = CommandResolver.StartInfo("node", "--version", environment)!;
        Assert.Equal(@"C:\Program Files\nodejs\node.exe", node.FileName);
        Assert.Equal("--version", node.Arguments);

        var func = CommandResolver.StartInfo("func", "start", environment)!;
        Assert.Equal(@"C:\Windows\system32\cmd.exe", func.FileName);
        Assert.Equal(@"/d /v:off /s /c """"C:\Users\ana\AppData\Roaming\npm\func.cmd"" start""", func.Arguments);
        Assert.False(func.UseShellExecute);
    }

    [Fact]
    public void OnWindows_PathExtOrderDecides_AndAnEmptyPathExtMeansTheDefault()
    {
        var both = Windows(@"C:\Users\ana\AppData\Roaming\npm\func.cmd", @"C:\Users\ana\AppData\Roaming\npm\func.exe");
        Assert.Equal(@"C:\Users\ana\AppData\Roaming\npm\func.exe", CommandResolver.Find("func", both));

        var noPathExt = both with { PathExt = "" };
        Assert.Equal(@"C:\Users\ana\AppData\Roaming\npm\func.exe", CommandResolver.Find("func", noPathExt));

        // The extension-less file npm also installs (a sh script for Git Bash) is never taken on Windows.
        var shOnly = Windows(@"C:\Users\ana\AppData\Roaming\npm\func");
        Assert.Null(CommandResolver.Find("func", shOnly));
        Assert.Null(CommandResolver.StartInfo("func", "--version", shOnly));
    }

    [Fact]
    public void OnWindows_AScriptThisAppCannotStart_IsSkipped_EvenWhenPathExtPutsItFirst()
    {
        var environment = Windows(@"C:\Windows\system32\func.ps1", @"C:\Users\ana\AppData\Roaming\npm\func.cmd") with { PathExt = ".PS1;.EXE;.CMD" };

        Assert.Equal(@"C:\Users\ana\AppData\Roaming\npm\func.cmd", CommandResolver.Find("func", environment));
    }

    [Theory]
    [InlineData("/usr/local/bin:/usr/bin:/bin", "/usr/local/bin/func")] // Linux, npm -g into /usr/local
    [InlineData("/opt/homebrew/bin:/usr/bin:/bin", "/opt/homebrew/bin/func")] // macOS on Apple silicon, Homebrew
    public void OnLinuxAndMacOS_TheFirstExecutableOnPathWins(string path, string expected)
    {
        var environment = Unix(path, expected, "/usr/bin/func");

        Assert.Equal(expected, CommandResolver.Find("func", environment));
        var start = CommandResolver.StartInfo("func", "start", environment)!;
        Assert.Equal(expected, start.FileName);
        Assert.Equal("start", start.Arguments);
    }

    [Fact]
    public void OnUnix_AFileWithoutAnExecuteBit_OrAMissingCommand_IsNotFound()
    {
        var environment = Unix("/usr/local/bin:/usr/bin");

        Assert.Null(CommandResolver.Find("func", environment));
        Assert.Null(CommandResolver.Find("npx", environment with { Path = null }));
    }

    [Fact]
    public void TheRealPath_FindsDotnet()
    {
        Assert.NotNull(CommandResolver.Find("dotnet", CommandEnvironment.Current));
        Assert.Null(CommandResolver.Find("no-such-command-otpfailover", CommandEnvironment.Current));
    }
}
