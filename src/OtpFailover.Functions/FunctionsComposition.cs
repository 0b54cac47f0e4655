using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.DependencyInjection;

namespace OtpFailover.Functions;

/// <summary>The app's wiring, in one place so a test can build the same container the host builds.</summary>
public static class FunctionsComposition
{
    public static void Configure(IServiceCollection services, IConfiguration configuration)
    {
        services.AddMvcCore();
        services.AddOtpFailover(configuration);
        Telemetry.Configure(services, configuration);
    }
}
