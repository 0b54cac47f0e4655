using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace OtpFailover.DependencyInjection;

/// <summary>
/// App Service resolves <c>@Microsoft.KeyVault(SecretUri=…)</c> settings before the app starts; one it cannot resolve
/// (no role on the vault, a secret that does not exist yet) reaches the app as that text. Taken for a value it would
/// become a WhatsApp token or a webhook key that can never work, so start-up stops and names the setting instead.
/// </summary>
public sealed class KeyVaultReferences<TOptions>(IConfiguration configuration, string sectionName) : IValidateOptions<TOptions>
    where TOptions : class
{
    private const string Prefix = "@Microsoft.KeyVault(";

    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var unresolved = configuration.GetSection(sectionName).AsEnumerable()
            .Where(setting => setting.Value?.TrimStart().StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) == true)
            .Select(setting => $"{setting.Key} is a Key Vault reference the platform could not resolve: give the app's identity the Key Vault Secrets User role on the vault, and make sure the secret exists (the app setting's Key Vault reference status in the portal says which).")
            .ToList();
        return unresolved.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(unresolved);
    }
}
