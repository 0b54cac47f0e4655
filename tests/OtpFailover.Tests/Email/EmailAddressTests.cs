using System.Security.Cryptography;
using OtpFailover.Codes;
using OtpFailover.EmailAddresses;

namespace OtpFailover.Tests.Email;

public sealed class EmailAddressTests
{
    [Theory]
    [InlineData(" Ana.Silva@Example.COM ", "ana.silva@example.com", "example.com", "a•••@example.com")]
    [InlineData("o'brien+otp@mail.example.ie", "o'brien+otp@mail.example.ie", "mail.example.ie", "o•••@mail.example.ie")]
    [InlineData("jörg@bücher.de", null, null, null)] // a non-ASCII local part needs SMTPUTF8, which not every server takes
    [InlineData("joerg@bücher.de", "joerg@xn--bcher-kva.de", "xn--bcher-kva.de", "j•••@xn--bcher-kva.de")]
    [InlineData("user@example.com.", "user@example.com", "example.com", "u•••@example.com")]
    public void TryParse_NormalisesBeforeAnythingIsHashed(string input, string? value, string? domain, string? masked)
    {
        var parsed = EmailAddress.TryParse(input, out var address);

        Assert.Equal(value is not null, parsed);
        Assert.Equal(value, address?.Value);
        Assert.Equal(domain, address?.Domain);
        Assert.Equal(masked, address?.Masked);
        Assert.Equal(masked, address?.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("plainaddress")]
    [InlineData("@example.com")]
    [InlineData("user@")]
    [InlineData("a@b@example.com")]
    [InlineData("Ana <ana@example.com>")]
    [InlineData("\"ana silva\"@example.com")]
    [InlineData("ana..silva@example.com")]
    [InlineData(".ana@example.com")]
    [InlineData("ana@[192.0.2.1]")]
    [InlineData("ana@localhost")]
    [InlineData("ana@example.123")]
    [InlineData("ana@-example.com")]
    [InlineData("ana@exa_mple.com")]
    [InlineData("ana@example.com\r\nBcc: victim@example.org")]
    public void TryParse_RefusesWhatIsNotAPlainAddress(string? input) =>
        Assert.False(EmailAddress.TryParse(input, out _));

    [Theory]
    [InlineData("ana+otp@example.com", "ana@example.com")]
    [InlineData("a.n.a@example.com", "a.n.a@example.com")]
    [InlineData("V.ictim+1@GoogleMail.com", "victim@gmail.com")]
    [InlineData("victim@gmail.com", "victim@gmail.com")]
    public void MailboxKey_CountsVariantsOfOneInboxAsOne_ButTheEmailGoesToTheAddressGiven(string input, string mailbox)
    {
        Assert.True(EmailAddress.TryParse(input, out var address));

        Assert.Equal(mailbox, address.MailboxKey);
        Assert.Equal(input.ToLowerInvariant(), address.Value);
    }

    [Fact]
    public void TryParse_RefusesTooLongAddresses()
    {
        Assert.False(EmailAddress.TryParse(new string('a', 65) + "@example.com", out _));
        Assert.False(EmailAddress.TryParse("a@" + string.Join('.', Enumerable.Repeat(new string('b', 60), 5)) + ".com", out _));
    }

    [Fact]
    public void Protector_IndexesOneAddressOnce_AndItsCiphertextOpensOnlyForItsVerification()
    {
        var protector = new EmailAddressProtector(new ServerSecret(Convert.ToBase64String(new byte[32])));
        Assert.True(EmailAddress.TryParse("Ana@Example.com", out var first));
        Assert.True(EmailAddress.TryParse("ana@example.COM", out var same));
        Assert.True(EmailAddress.TryParse("bea@example.com", out var other));

        Assert.Equal(protector.Index(first), protector.Index(same));
        Assert.NotEqual(protector.Index(first), protector.Index(other));

        var sealedBox = protector.Encrypt(first, "v1");
        Assert.Equal(first, protector.Decrypt(sealedBox, "v1"));
        Assert.ThrowsAny<CryptographicException>(() => protector.Decrypt(sealedBox, "v2"));
    }
}
