namespace OtpFailover.Storage;

/// <summary>
/// A row that records which operation wrote it last. When a write reaches the table but its answer is lost, the
/// client retries it with the same ETag and meets 412; reading the row back and finding its own stamp tells the
/// writer that the change is already there, so a change that is not idempotent (a counter, an attempt) is not
/// applied twice.
/// </summary>
internal interface IOperationStamped
{
    string? Operation { get; set; }
}
