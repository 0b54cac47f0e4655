using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace OtpFailover.EmailAddresses;

/// <summary>
/// An email address a code can go to, normalised before anything is hashed or counted: trimmed, lower-cased, its
/// domain in ASCII (an internationalised domain as punycode), so <c> Ana@Example.COM</c> and <c>ana@example.com</c>
/// are one address. Only the plain <c>local@domain</c> form is taken: no display names, comments, quoted local parts
/// or IP-literal domains (none is needed to receive a code, and each is a way to smuggle something past a check).
/// </summary>
public sealed record EmailAddress
{
    /// <summary>The longest address SMTP carries (RFC 5321: a 256-octet path, less its brackets).</summary>
    public const int MaxLength = 254;

    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    private EmailAddress(string localPart, string domain)
    {
        LocalPart = localPart;
        Domain = domain;
    }

    public string LocalPart { get; }

    /// <summary>The domain in ASCII, lower-cased: what the per-domain limits count and the disposable list is matched against.</summary>
    public string Domain { get; }

    public string Value => $"{LocalPart}@{Domain}";

    /// <summary>
    /// The inbox the address reaches, for counting: a sub-address (<c>+tag</c>) reaches its mailbox at every common
    /// provider, and Gmail also ignores dots and answers for <c>googlemail.com</c>. The email still goes to
    /// <see cref="Value"/>; only limits count by this, so variants of one inbox share its limit.
    /// </summary>
    public string MailboxKey
    {
        get
        {
            var local = LocalPart.IndexOf('+', StringComparison.Ordinal) is > 0 and var plus ? LocalPart[..plus] : LocalPart;
            var domain = Domain == "googlemail.com" ? "gmail.com" : Domain;
            return domain == "gmail.com" ? $"{local.Replace(".", string.Empty, StringComparison.Ordinal)}@{domain}" : $"{local}@{domain}";
        }
    }

    /// <summary>The first character of the local part and the domain (<c>a•••@example.com</c>): enough for a user to recognise.</summary>
    public string Masked => Mask(LocalPart, Domain);

    public static bool TryParse(string? input, [NotNullWhen(true)] out EmailAddress? address)
    {
        address = null;
        var text = input?.Trim();
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength)
        {
            return false;
        }

        var at = text.LastIndexOf('@');
        if (at <= 0 || at == text.Length - 1 || text.IndexOf('@') != at)
        {
            return false;
        }

        var local = text[..at];
        if (local.Length > 64 || local.StartsWith('.') || local.EndsWith('.') || local.Contains("..", StringComparison.Ordinal) || !local.All(IsAtomCharacter))
        {
            return false;
        }

        string domain;
        try
        {
            domain = Idn.GetAscii(text[(at + 1)..].TrimEnd('.')).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return false;
        }

        var labels = domain.Split('.');
        if (domain.Length > 253 || labels.Length < 2 || labels.Any(l => l.Length is 0 or > 63 || l.StartsWith('-') || l.EndsWith('-') || !l.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            || labels[^1].All(char.IsAsciiDigit))
        {
            return false;
        }

        var parsed = new EmailAddress(local.ToLowerInvariant(), domain);
        if (parsed.Value.Length > MaxLength)
        {
            return false; // an internationalised domain grew past the limit in punycode
        }

        address = parsed;
        return true;
    }

    /// <summary>An address as stored (normalised by <see cref="TryParse"/> before it was encrypted).</summary>
    internal static EmailAddress FromStored(string value) =>
        TryParse(value, out var address) && address.Value == value ? address : throw new FormatException("The stored value is not a normalised email address.");

    public static string Mask(string localPart, string domain)
    {
        ArgumentNullException.ThrowIfNull(localPart);
        return localPart.Length == 0 ? $"•••@{domain}" : $"{localPart[0]}•••@{domain}";
    }

    /// <summary>Masked, so that an address formatted into a log line never shows whole.</summary>
    public override string ToString() => Masked;

    /// <summary>RFC 5322's atext, and the dot: what an unquoted local part may hold.</summary>
    private static bool IsAtomCharacter(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '.' or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '/' or '=' or '?' or '^' or '_' or '`' or '{' or '|' or '}' or '~';
}
