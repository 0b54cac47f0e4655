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
    var app = SimulatorApp.Build(args[1..]);
    app.Lifetime.ApplicationStopping.Register(run.StopAll);
    AppDomain.CurrentDomain.ProcessExit += (_, _) => run.StopAll();
    var started = await run.StartAppAsync(app.Lifetime.ApplicationStopping);
    if (started != 0)
    {
        run.StopAll();
        return started;
    }

    await app.StartAsync();
    run.PrintWhereToClick(LoopbackStandIn.ListeningUrl(app).ToString().TrimEnd('/'));
    await app.WaitForShutdownAsync();
    return 0;
}

// Listens on http://127.0.0.1:7171 unless --urls or ASPNETCORE_URLS says otherwise; settings under Simulator:*.
await SimulatorApp.Build(args).RunAsync();
return 0;
