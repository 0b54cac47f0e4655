using Microsoft.Extensions.DependencyInjection;
using OtpFailover.PhoneNumbers;
using OtpFailover.Storage;
using OtpFailover.Verifications;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>Verification rows written straight to the store, with no orchestration behind them.</summary>
public static class TestRows
{
    /// <summary>A pending verification of <paramref name="phoneNumber"/>, created at <paramref name="now"/> for ten minutes, with no plan or sends yet.</summary>
    public static async Task<string> InsertBareAsync(TestApp app, string phoneNumber, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(app);
        var protector = app.Services.GetRequiredService<PhoneNumberProtector>();
        Assert.True(PhoneNumber.TryParse(phoneNumber, out var number), $"{phoneNumber} does not parse");
        var id = VerificationIds.New();
        await app.Store.InsertAsync(new VerificationEntity
        {
            PartitionKey = id,
            MaskedPhoneNumber = number.Masked,
            PhoneIndex = protector.Index(number),
            PhoneCiphertext = protector.Encrypt(number, id),
            RegionCode = number.RegionCode,
            CodeLength = 6,
            MaxAttempts = 5,
            CreatedAt = now,
            ExpiresAt = now.AddMinutes(10),
        });
        return id;
    }
}
