using System.Reflection;
using System.Text.RegularExpressions;
using OtpFailover.Simulator;

namespace OtpFailover.Tests.Abuse;

/// <summary>SECURITY.md names the test that proves each control: every name it cites must be a test that exists.</summary>
public sealed partial class SecurityDocumentTests
{
    [Fact]
    public void EveryTestSecurityMdCites_Exists()
    {
        var document = File.ReadAllText(Path.Combine(LocalRun.FindRepositoryRoot(AppContext.BaseDirectory)!, "SECURITY.md"));
        var tests = typeof(SecurityDocumentTests).Assembly.GetTypes()
            .Where(t => t.Name.EndsWith("Tests", StringComparison.Ordinal))
            .ToDictionary(t => t.Name, t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance)
                .Where(m => m.GetCustomAttributes().Any(a => a is FactAttribute))
                .Select(m => m.Name)
                .ToHashSet(StringComparer.Ordinal));

        var cited = Citation().Matches(document).Select(m => (Class: m.Groups[1].Value, Method: m.Groups[2].Success ? m.Groups[2].Value : null)).ToList();

        Assert.True(cited.Count >= 20, $"only {cited.Count} citations found");
        Assert.All(cited, c =>
        {
            Assert.True(tests.ContainsKey(c.Class), $"SECURITY.md cites {c.Class}, which is not a test class");
            Assert.True(c.Method is null || tests[c.Class].Contains(c.Method), $"SECURITY.md cites {c.Class} › {c.Method}, which is not a test");
        });
    }

    [GeneratedRegex(@"`([A-Za-z]+Tests)(?: › ([A-Za-z0-9_]+))?`")]
    private static partial Regex Citation();
}
