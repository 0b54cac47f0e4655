using OtpFailover.Simulator;

// dotnet run --project src/OtpFailover.Simulator            the simulator alone, on http://127.0.0.1:7171
// dotnet run --project src/OtpFailover.Simulator -- up      Azurite, the function app (func start) and the simulator
if (args is ["up", ..])
{
    var root = LocalRun.FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? LocalRun.FindRepositoryRoot(AppContext.BaseDirectory);
    if (root is null)
    {
        Console.Error.WriteLine("Run this from inside the OtpFailover repository (the folder with Functions.sln).");
        return 2;
    }

    var missing = LocalRun.MissingPrerequisites(LocalRun.VersionOf);
    if (missing.Count > 0)
    {
        Console.Error.WriteLine("Missing prerequisites; please install:");
        foreach (var item in missing)
        {
            Console.Error.WriteLine($"  - {item}");
        }

        return 1;
    }

    var run = new LocalRun(root, Console.Out);
    // A slow machine's first start may need longer than three minutes: OTPFAILOVER_UP_WAIT_SECONDS.
    if (int.TryParse(Environment.GetEnvironmentVariable("OTPFAILOVER_UP_WAIT_SECONDS"), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var waitSeconds) && waitSeconds > 0)
    {
        run.HostPatience = TimeSpan.FromSeconds(waitSeconds);
    }
    else if (Environment.GetEnvironmentVariable("OTPFAILOVER_UP_WAIT_SECONDS") is { Length: > 0 } unreadable)
    {
        Console.Error.WriteLine($"OTPFAILOVER_UP_WAIT_SECONDS must be a whole number of seconds above 0, not '{unreadable}'; waiting the default {run.HostPatience.TotalSeconds:0} s.");
    }

    if (!run.OwnPortsAreFree())
    {
        return 3;
    }

    // The simulator first: it holds its port and checks its settings before anything is started, and once it runs,
    // Ctrl+C stops the steps below too (its lifetime's stopping token).
    var app = SimulatorApp.Build(args[1..]);
    AppDomain.CurrentDomain.ProcessExit += (_, _) => run.StopAll();
    try
    {
        try
        {
            await app.StartAsync();
        }
        catch (Exception ex) when (ex is IOException or Microsoft.Extensions.Options.OptionsValidationException or InvalidOperationException)
        {
            Console.WriteLine($"Step 'Simulator' failed: {ex.Message}");
            return 1;
        }

        var started = await run.StartAppAsync(app.Lifetime.ApplicationStopping);
        if (started != 0)
        {
            return started;
        }

        run.PrintWhereToClick(LoopbackStandIn.ListeningUrl(app).ToString().TrimEnd('/'));
        await app.WaitForShutdownAsync();
        return 0;
    }
    catch (OperationCanceledException)
    {
        Console.WriteLine("Stopped before everything was up.");
        return 130;
    }
    finally
    {
        run.StopAll();
        try
        {
            await app.StopAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // It never started.
        }

        await app.DisposeAsync();
    }
}

// Listens on http://127.0.0.1:7171 unless --urls or ASPNETCORE_URLS says otherwise; settings under Simulator:*.
await SimulatorApp.Build(args).RunAsync();
return 0;
