using OtpFailover.Benchmarks;

// dotnet run -c Release --project bench/OtpFailover.Benchmarks [-- --samples 100]
return await BenchmarkRun.RunAsync(args);
