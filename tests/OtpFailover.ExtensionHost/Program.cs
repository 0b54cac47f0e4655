using OtpFailover.ExtensionHost;

// Starts the host-side extensions on a WebJobs host the way the Functions host does; see ExtensionHostProgram.
return await ExtensionHostProgram.RunAsync(args);
