using Microsoft.Extensions.Options;
using OtpFailover.Codes;
using OtpFailover.Verifications;

namespace OtpFailover.Tests.Codes;

public sealed class CodeGeneratorTests
{
    private static CodeGenerator Generator(byte fill = 7) =>
        new(new ServerSecret(Convert.ToBase64String(Enumerable.Repeat(fill, 32).ToArray())));

    [Theory]
    [InlineData(4)]
    [InlineData(6)]
    [InlineData(10)]
    public void Derive_GivesExactlyTheConfiguredNumberOfDigits(int length)
    {
        var codes = Enumerable.Range(0, 200).Select(i => Generator().Derive($"id-{i}", length)).ToList();

        Assert.All(codes, code => Assert.Matches($"^[0-9]{{{length}}}$", code));
    }

    [Fact]
    public void Derive_IsStableForOneVerification_AndDiffersAcrossVerificationsAndKeys()
    {
        var generator = Generator();

        Assert.Equal(generator.Derive("a", 6), generator.Derive("a", 6));
        Assert.True(Enumerable.Range(0, 50).Select(i => generator.Derive($"v{i}", 8)).Distinct().Count() >= 49);
        Assert.NotEqual(generator.Derive("a", 10), Generator(fill: 8).Derive("a", 10));
    }

    [Fact]
    public void Derive_SpreadsDigitsEvenly()
    {
        var generator = Generator();
        var counts = new int[10];
        foreach (var code in Enumerable.Range(0, 5000).Select(i => generator.Derive($"spread-{i}", 6)))
        {
            foreach (var digit in code)
            {
                counts[digit - '0']++;
            }
        }

        // 30,000 digits: 3,000 expected each; a leading-zero bug or a skewed reduction lands far outside this.
        Assert.All(counts, count => Assert.InRange(count, 2700, 3300));
    }

    [Fact]
    public void Matches_AcceptsOnlyTheExactCode()
    {
        var generator = Generator();
        var code = generator.Derive("m", 6);

        Assert.True(generator.Matches("m", 6, code));
        Assert.False(generator.Matches("m", 6, code[..5]));
        Assert.False(generator.Matches("m", 6, code + "0"));
        Assert.False(generator.Matches("m", 6, ((int.Parse(code, System.Globalization.CultureInfo.InvariantCulture) + 1) % 1_000_000).ToString("000000", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.False(generator.Matches("other", 6, code));
    }
}
