using System.ComponentModel.DataAnnotations;

namespace OtpFailover.Storage;

/// <summary>The <c>Storage</c> configuration section. The account itself is <c>AzureWebJobsStorage</c>.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>Table names: 3–63 letters and digits, starting with a letter.</summary>
    [Required(ErrorMessage = "Storage:TableName is required.")]
    [RegularExpression(@"^[A-Za-z][A-Za-z0-9]{2,62}\z", ErrorMessage = "Storage:TableName must be 3 to 63 letters and digits, starting with a letter.")]
    public string TableName { get; set; } = "Verifications";
}
