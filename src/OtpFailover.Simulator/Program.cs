using OtpFailover.Simulator;

// Listens on http://127.0.0.1:7171 unless --urls or ASPNETCORE_URLS says otherwise; settings under Simulator:*.
await SimulatorApp.Build(args).RunAsync();
