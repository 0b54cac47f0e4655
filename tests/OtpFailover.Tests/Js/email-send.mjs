// Sends one email with Microsoft's @azure/communication-email against a stand-in, and prints what came back.
// Usage: node email-send.mjs <connection string> <sender> <recipient> <operation id>
import { EmailClient } from "@azure/communication-email";

const [connectionString, senderAddress, recipient, operationId] = process.argv.slice(2);
// The stand-in listens on plain http on 127.0.0.1; everything else is as the client sends it to Azure.
const client = new EmailClient(connectionString, { allowInsecureConnection: true });
const poller = await client.beginSend({
  senderAddress,
  recipients: { to: [{ address: recipient }] },
  content: { subject: "482913 is your Contoso verification code", plainText: "482913", html: "<p>482913</p>" },
  userEngagementTrackingDisabled: true,
}, { operationId, updateIntervalInMs: 100 });
const result = await poller.pollUntilDone();
console.log(JSON.stringify({ id: result.id, status: result.status }));
