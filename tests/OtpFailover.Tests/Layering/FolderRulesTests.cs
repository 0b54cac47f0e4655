using ArchUnitNET.Domain;
using ArchUnitNET.Fluent;
using ArchUnitNET.Fluent.Slices;
using ArchUnitNET.Loader;
using ArchUnitNET.xUnit;
using OtpFailover.Channels;
using OtpFailover.Verifications;
using static ArchUnitNET.Fluent.ArchRuleDefinition;
using Assembly = System.Reflection.Assembly;

namespace OtpFailover.Tests.Layering;

/// <summary>
/// The folders of <c>src/OtpFailover</c> layer: none depends, through any of its types, on a folder that depends back
/// on it; the core knows no ASP.NET Core; <c>Verifications/</c> knows no channel's folder (a channel is found through
/// <see cref="ICodeChannel"/>); <c>Storage/</c> is table plumbing that knows no domain folder.
/// </summary>
public sealed class FolderRulesTests
{
    private const string Core = "OtpFailover";

    private static readonly Assembly CoreAssembly = typeof(VerificationService).Assembly;

    private static readonly Lazy<Architecture> CoreArchitecture = new(() => new ArchLoader().LoadAssemblies(CoreAssembly).Build());

    /// <summary>The rule the folders are held to: the slices under <paramref name="root"/> (one per folder) have no cycle.</summary>
    internal static IArchRule FoldersWithoutCycles(string root) =>
        SliceRuleDefinition.Slices().Matching($"{root}.(*)").Should().BeFreeOfCycles();

    [Fact]
    public void CoreFolders_HaveNoCycle() =>
        FoldersWithoutCycles(Core).Check(CoreArchitecture.Value);

    [Fact]
    public void TheCycleRule_FailsOnACycle()
    {
        // Two folders of this test assembly that depend on each other: the same rule must refuse them.
        var sample = new ArchLoader().LoadNamespacesWithinAssembly(typeof(CycleSample.Left.LeftType).Assembly, typeof(CycleSample.Left.LeftType).Namespace!, typeof(CycleSample.Right.RightType).Namespace!).Build();

        Assert.False(FoldersWithoutCycles("OtpFailover.Tests.Layering.CycleSample").HasNoViolations(sample));
    }

    [Fact]
    public void Core_DependsOnNoAspNetCore()
    {
        Assert.DoesNotContain(CoreAssembly.GetReferencedAssemblies(), a => a.Name!.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Types().That().ResideInAssembly(CoreAssembly).Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^Microsoft\.AspNetCore(\..*)?$"))
            .Check(CoreArchitecture.Value);
    }

    [Fact]
    public void Verifications_DependOnNoChannelFolder()
    {
        // A channel's folder is one that implements ICodeChannel (WhatsApp/, Sms/, and every channel added later).
        var channelFolders = CoreAssembly.GetTypes()
            .Where(t => typeof(ICodeChannel).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
            .Select(t => t.Namespace!)
            .Distinct()
            .ToList();
        Assert.Contains("OtpFailover.WhatsApp", channelFolders);
        Assert.Contains("OtpFailover.Sms", channelFolders);

        foreach (var folder in channelFolders)
        {
            Types().That().ResideInNamespace(typeof(VerificationService).Namespace!).Should().NotDependOnAny(Types().That().ResideInNamespace(folder))
                .Check(CoreArchitecture.Value);
        }
    }

    [Fact]
    public void Storage_DependsOnNoOtherFolder() =>
        Types().That().ResideInNamespace("OtpFailover.Storage").Should().NotDependOnAny(Types().That().ResideInNamespaceMatching(@"^OtpFailover\.(?!Storage$)[A-Za-z]+$"))
            .Check(CoreArchitecture.Value);
}
