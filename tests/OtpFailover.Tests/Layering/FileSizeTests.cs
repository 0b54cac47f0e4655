using OtpFailover.Tests.Infrastructure;

namespace OtpFailover.Tests.Layering;

/// <summary>A source file holds one use case: past 300 lines it is split, or the README says why it is one.</summary>
public sealed class FileSizeTests
{
    private const int MaximumLines = 300;

    [Fact]
    public void SourceFiles_AreAtMost300Lines_UnlessTheReadmeSaysWhy()
    {
        var root = ChildProcesses.RepositoryRoot;
        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var files = Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(files);

        var tooLong = files
            .Select(path => (Path: Path.GetRelativePath(root, path).Replace('\\', '/'), Lines: File.ReadAllLines(path).Length))
            .Where(file => file.Lines > MaximumLines && !readme.Contains($"`{file.Path}` is over {MaximumLines} lines", StringComparison.Ordinal))
            .Select(file => $"{file.Path} ({file.Lines} lines)")
            .ToList();

        Assert.True(tooLong.Count == 0, $"Split these by use case, or say in README › Repository why one is a single use case (\"`path` is over {MaximumLines} lines: …\"): {string.Join(", ", tooLong)}");
    }
}
