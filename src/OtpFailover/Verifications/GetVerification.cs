namespace OtpFailover.Verifications;

/// <summary>Reads a verification as the API shows it (the number masked, never the code).</summary>
public sealed class GetVerification(VerificationStore store)
{
    public async Task<Verification?> RunAsync(string id, CancellationToken cancellationToken) =>
        (await store.FindAsync(id, cancellationToken))?.ToVerification();
}
