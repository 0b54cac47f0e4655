using OtpFailover.TestHost;

// The app (HTTP functions, durable worker, Azure Storage backend) in one killable process; see TestHostProgram.
return await TestHostProgram.RunAsync(args);
