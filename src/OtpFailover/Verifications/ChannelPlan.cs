using Microsoft.Extensions.Options;
using OtpFailover.Abuse;
using OtpFailover.Channels;
using OtpFailover.Configuration;

namespace OtpFailover.Verifications;

/// <summary>One channel of a verification's plan, with what confirms it and how long the workflow waits for that.</summary>
/// <param name="ConfirmWithin">
/// How long to wait for the channel's confirmation before moving to the next channel; null: no limit (the next channel
/// follows only a failure, a refusal or a resend).
/// </param>
/// <param name="ConfirmedBy">Which delivery status means the user has the code (SMS: <c>delivered</c>).</param>
public sealed record PlannedChannel(Channel Channel, TimeSpan? ConfirmWithin, FailoverWhen ConfirmedBy);

/// <summary>Channel names as the API and the settings write them (<c>whatsapp</c>, <c>sms</c>).</summary>
public static class ChannelNames
{
    public static bool TryParse(string? value, out Channel channel)
    {
        foreach (var candidate in Enum.GetValues<Channel>())
        {
            if (string.Equals(WireNames.Of(candidate), value?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                channel = candidate;
                return true;
            }
        }

        channel = default;
        return false;
    }

    /// <summary>Parses an ordered list of channel names: each known, none twice, at least one.</summary>
    public static bool TryParseList(IEnumerable<string?> values, out IReadOnlyList<Channel> channels, out string? error)
    {
        ArgumentNullException.ThrowIfNull(values);
        var list = new List<Channel>();
        channels = list;
        foreach (var value in values)
        {
            if (!TryParse(value, out var channel))
            {
                error = $"'{Shown(value)}' is not a channel; the channels are {string.Join(", ", Enum.GetValues<Channel>().Select(c => WireNames.Of(c)))}.";
                return false;
            }

            if (list.Contains(channel))
            {
                error = $"{WireNames.Of(channel)} is listed twice.";
                return false;
            }

            list.Add(channel);
        }

        error = list.Count == 0 ? "at least one channel is needed." : null;
        return error is null;
    }

    public static string Join(IEnumerable<Channel> channels) => string.Join(',', channels.Select(c => WireNames.Of(c)));

    /// <summary>A caller's text in an error message: short, and only letters, digits and simple punctuation.</summary>
    private static string Shown(string? value) =>
        new((value ?? string.Empty).Take(20).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '?').ToArray());
}

/// <summary>
/// Chooses a verification's channels: the number's country's list (<c>Verification:ChannelsByCountry</c>), else
/// <c>Verification:Channels</c>; a start's own <c>channels</c> may reorder or drop those, and name other configured
/// channels only with <c>Verification:AllowChannelsBeyondCountry</c>.
/// </summary>
public sealed class ChannelPlanner(IOptions<VerificationOptions> options, CodeChannels channels)
{
    /// <summary>WhatsApp, then SMS: the plan of <c>Verification:Channels</c>'s default, and of rows from before plans.</summary>
    public static readonly IReadOnlyList<Channel> DefaultPlan = [Channel.WhatsApp, Channel.Sms];

    /// <summary>The channels this deployment offers, in their default order.</summary>
    public IReadOnlyList<Channel> Configured => Parse(options.Value.Channels);

    /// <summary>
    /// Whether a start's own list may be used for a number of <paramref name="regionCode"/>: each channel configured,
    /// and one of the country's (unless <c>Verification:AllowChannelsBeyondCountry</c>). Null when it may; otherwise why not.
    /// </summary>
    public string? Refuse(IReadOnlyList<Channel> requested, string? regionCode, bool hasEmail = false)
    {
        ArgumentNullException.ThrowIfNull(requested);
        var unreachable = requested.Where(c => !CanReach(c, hasEmail)).ToList();
        if (unreachable.Count > 0)
        {
            return $"channels names {ChannelNames.Join(unreachable)}, which needs the user's email: give email too.";
        }

        var configured = Configured;
        var missing = requested.Where(c => !configured.Contains(c)).ToList();
        if (missing.Count > 0)
        {
            return $"channels may only name configured channels ({ChannelNames.Join(configured)}); not {ChannelNames.Join(missing)}.";
        }

        var allowed = Allowed(regionCode);
        var beyond = requested.Where(c => !allowed.Contains(c)).ToList();
        return beyond.Count == 0
            ? null
            : $"channels may reorder or leave out this number's channels ({ChannelNames.Join(allowed)}) but not add {ChannelNames.Join(beyond)}.";
    }

    /// <summary>
    /// The plan for a number of <paramref name="regionCode"/>: the start's own list when given (keeping only the
    /// channels it may name), else the country's list, else the configured one.
    /// </summary>
    /// <remarks>
    /// A channel that reaches an email address is kept only when the start gave one. A plan left with no channel at all
    /// (a country whose only channel is email, and no email) keeps its channels: their send is refused, and the
    /// verification fails as with any refused last channel.
    /// </remarks>
    public IReadOnlyList<Channel> For(string? regionCode, IReadOnlyList<Channel>? requested, bool hasEmail = false)
    {
        var allowed = Allowed(regionCode);
        var plan = requested?.Where(allowed.Contains).ToList() is { Count: > 0 } kept ? kept : Offered(regionCode);
        return plan.Where(c => CanReach(c, hasEmail)).ToList() is { Count: > 0 } reachable ? reachable : plan;
    }

    /// <summary>
    /// Why a start cannot be planned at all: none of the channels it would get reaches the user (a country routed to
    /// email only, and no address). Null when one does.
    /// </summary>
    public string? RefuseUnreachable(string? regionCode, IReadOnlyList<Channel>? requested, bool hasEmail)
    {
        var plan = For(regionCode, requested, hasEmail);
        return plan.Any(c => CanReach(c, hasEmail)) ? null : $"this number's channels ({ChannelNames.Join(plan)}) need the user's email: give email too.";
    }

    /// <summary>Whether a start reaches <paramref name="channel"/>: every start has a number; only some have an email address.</summary>
    private bool CanReach(Channel channel, bool hasEmail) =>
        hasEmail || channels.For(channel).Recipient != RecipientKind.EmailAddress;

    /// <summary>The channels a start's own list may name for a number of <paramref name="regionCode"/>.</summary>
    private IReadOnlyList<Channel> Allowed(string? regionCode) =>
        options.Value.AllowChannelsBeyondCountry ? Configured : Offered(regionCode);

    /// <summary>The channels a number of <paramref name="regionCode"/> gets: its country's list, else the configured one.</summary>
    private IReadOnlyList<Channel> Offered(string? regionCode)
    {
        foreach (var (region, list) in options.Value.ChannelsByCountry)
        {
            if (string.Equals(region, regionCode, StringComparison.OrdinalIgnoreCase) && !string.IsNullOrWhiteSpace(list))
            {
                return Parse(list);
            }
        }

        return Configured;
    }

    /// <summary>The plan as the workflow walks it: each channel with its confirmation rule and wait (the channel says which).</summary>
    public IReadOnlyList<PlannedChannel> Steps(IEnumerable<Channel> plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return [.. plan.Select(channel =>
        {
            var code = channels.For(channel);
            return new PlannedChannel(channel, code.ConfirmWithin, code.ConfirmedBy);
        })];
    }

    internal static IReadOnlyList<Channel> Parse(string? list) =>
        ChannelNames.TryParseList(SettingList.Split(list), out var channels, out _) ? channels : DefaultPlan;
}
