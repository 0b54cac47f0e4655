using Azure.Data.Tables;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OtpFailover.Abuse;
using OtpFailover.Callbacks;
using OtpFailover.Channels;
using OtpFailover.Codes;
using OtpFailover.Email;
using OtpFailover.EmailAddresses;
using OtpFailover.PhoneNumbers;
using OtpFailover.Retention;
using OtpFailover.Sms;
using OtpFailover.Storage;
using OtpFailover.Telemetry;
using OtpFailover.Verifications;
using OtpFailover.WhatsApp;
using OtpFailover.Workflow;

namespace OtpFailover.DependencyInjection;

public static partial class OtpFailoverServiceCollectionExtensions
{
    /// <summary>The storage account setting the Functions host itself uses.</summary>
    public const string StorageConnectionName = "AzureWebJobsStorage";

    /// <summary>
    /// Registers the verification services with options bound from <paramref name="configuration"/> and validated
    /// when the host starts. Services registered before this call (a provider's sender, a table client) win.
    /// </summary>
    public static IServiceCollection AddOtpFailover(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<VerificationOptions>()
            .Bind(configuration.GetSection(VerificationOptions.SectionName).WithoutEmptyValues())
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VerificationOptions>, VerificationOptionsValidator>());
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection(StorageOptions.SectionName).WithoutEmptyValues())
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<AbuseOptions>()
            .Bind(configuration.GetSection(AbuseOptions.SectionName).WithoutEmptyValues())
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AbuseOptions>, AbuseOptionsValidator>());

        services.AddKeyVaultReferenceCheck<VerificationOptions>(configuration, VerificationOptions.SectionName);
        services.AddKeyVaultReferenceCheck<StorageOptions>(configuration, StorageOptions.SectionName);
        services.AddKeyVaultReferenceCheck<AbuseOptions>(configuration, AbuseOptions.SectionName);
        services.AddOptions<RetentionOptions>()
            .Bind(configuration.GetSection(RetentionOptions.SectionName).WithoutEmptyValues())
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddKeyVaultReferenceCheck<RetentionOptions>(configuration, RetentionOptions.SectionName);
        services.AddOptions<CallbackOptions>()
            .Bind(configuration.GetSection(CallbackOptions.SectionName).WithoutEmptyValues())
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CallbackOptions>, CallbackOptionsValidator>());
        services.AddKeyVaultReferenceCheck<CallbackOptions>(configuration, CallbackOptions.SectionName);
        services.TryAddSingleton(_ => CreateTableServiceClient(configuration));
        services.AddWhatsAppCloudApi(configuration);
        services.AddAcsSms(configuration);
        services.AddAcsEmail(configuration);
        return services.AddOtpFailoverCore();
    }

    private static void AddKeyVaultReferenceCheck<TOptions>(this IServiceCollection services, IConfiguration configuration, string sectionName)
        where TOptions : class =>
        services.AddSingleton<IValidateOptions<TOptions>>(new KeyVaultReferences<TOptions>(configuration, sectionName));

    /// <summary>The services alone, for a host that registers the options (and a table client) itself.</summary>
    public static IServiceCollection AddOtpFailoverCore(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<OtpMetrics>();
        services.TryAddSingleton(provider => new ServerSecret(provider.GetRequiredService<IOptions<VerificationOptions>>().Value.CodeKey));
        services.TryAddSingleton<CodeGenerator>();
        services.TryAddSingleton<PhoneNumberProtector>();
        services.TryAddSingleton<EmailAddressProtector>();
        services.TryAddSingleton<ProviderMessageKeys>();
        services.TryAddSingleton<PhoneNumberPolicy>();
        services.TryAddSingleton<ClientKeys>();
        services.TryAddSingleton<AppTable>();
        services.TryAddSingleton<UsageRows>();
        services.TryAddSingleton<StartAdmission>();
        services.TryAddSingleton<WrongCodeBudget>();
        services.TryAddSingleton<SmsAllowance>();
        services.TryAddSingleton<VerificationStore>();

        // The use cases (Verifications/) and their front door.
        services.TryAddSingleton<DeliveryRules>();
        services.TryAddSingleton<CallbackEvents>();
        services.TryAddSingleton<WorkflowSignals>();
        services.TryAddSingleton<OnePendingPerNumber>();
        services.TryAddSingleton<StartVerification>();
        services.TryAddSingleton<CheckCode>();
        services.TryAddSingleton<ResendCode>();
        services.TryAddSingleton<CancelVerification>();
        services.TryAddSingleton<ApplyDeliveryStatus>();
        services.TryAddSingleton<GetVerification>();
        services.TryAddSingleton<VerificationService>();

        // The workflow's activities (Workflow/) and their front door.
        services.TryAddSingleton<SendState>();
        services.TryAddSingleton<SendMove>();
        services.TryAddSingleton<SendAllowance>();
        services.TryAddSingleton<SendAndRecord>();
        services.TryAddSingleton<SendCode>();
        services.TryAddSingleton<EndVerification>();
        services.TryAddSingleton<ReadVerification>();
        services.TryAddSingleton<VerificationActivities>();
        services.TryAddSingleton<ChannelPlanner>();
        services.TryAddSingleton<CodeChannels>();
        services.TryAddKeyedSingleton<ICodeChannel, WhatsAppChannel>(Channel.WhatsApp);
        services.TryAddKeyedSingleton<ICodeChannel, SmsChannel>(Channel.Sms);
        services.TryAddKeyedSingleton<ICodeChannel, EmailChannel>(Channel.Email);
        services.TryAddSingleton<SendAllowances>();
        services.TryAddKeyedSingleton<ISendAllowance>(Channel.Sms, (sp, _) => sp.GetRequiredService<SmsAllowance>());
        services.TryAddKeyedSingleton<ISendAllowance, EmailAllowance>(Channel.Email);
        services.TryAddSingleton<RetentionService>();
        services.TryAddSingleton<CallbackSigner>();
        services.TryAddSingleton<CallbackUrlPolicy>();
        services.TryAddSingleton<CallbackActivities>();
        services.AddCallbackSender();
        services.TryAddSingleton<WhatsAppWebhookHandler>();
        services.TryAddSingleton<AcsDeliveryReportHandler>();
        services.TryAddSingleton<UnconfiguredChannelSender>();
        services.TryAddSingleton<IWhatsAppCodeSender>(sp => sp.GetRequiredService<UnconfiguredChannelSender>());
        services.TryAddSingleton<ISmsCodeSender>(sp => sp.GetRequiredService<UnconfiguredChannelSender>());
        services.TryAddSingleton<IEmailCodeSender>(sp => sp.GetRequiredService<UnconfiguredChannelSender>());
        return services;
    }

    /// <summary>
    /// The credential of <c>AzureWebJobsStorage__*</c>, read as the Functions host reads it: <c>__credential</c>
    /// <c>managedidentity</c> is the managed identity (user-assigned with <c>__clientId</c>), and nothing else is tried;
    /// without it, the default chain (a developer's sign-in locally), with <c>__clientId</c> for a managed identity.
    /// </summary>
    internal static Azure.Core.TokenCredential StorageCredential(IConfigurationSection section)
    {
        var clientId = section["clientId"];
        var userAssigned = !string.IsNullOrWhiteSpace(clientId);
        if (string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase))
        {
            return new ManagedIdentityCredential(userAssigned ? ManagedIdentityId.FromUserAssignedClientId(clientId!) : ManagedIdentityId.SystemAssigned);
        }

        return userAssigned
            ? new DefaultAzureCredential(new DefaultAzureCredentialOptions { ManagedIdentityClientId = clientId })
            : new DefaultAzureCredential();
    }

    /// <summary>
    /// A connection string in <c>AzureWebJobsStorage</c> (Azurite locally), or, in Azure, a managed identity with
    /// <c>AzureWebJobsStorage__tableServiceUri</c> (and <c>__clientId</c> for a user-assigned identity).
    /// </summary>
    private static TableServiceClient CreateTableServiceClient(IConfiguration configuration)
    {
        var connectionString = configuration[StorageConnectionName];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            return new TableServiceClient(connectionString);
        }

        var section = configuration.GetSection(StorageConnectionName);
        if (Uri.TryCreate(section["tableServiceUri"], UriKind.Absolute, out var tableServiceUri))
        {
            return new TableServiceClient(tableServiceUri, StorageCredential(section));
        }

        throw new OptionsValidationException(StorageConnectionName, typeof(TableServiceClient), [$"Set {StorageConnectionName} to a storage connection string (UseDevelopmentStorage=true for Azurite), or {StorageConnectionName}__tableServiceUri for a managed identity."]);
    }
}
