using System.Text;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OtpFailover.Channels;
using OtpFailover.DependencyInjection;
using OtpFailover.EmailAddresses;
using OtpFailover.PhoneNumbers;
using OtpFailover.Simulator;
using OtpFailover.Tests.Infrastructure;
using OtpFailover.Tests.Sms;
using OtpFailover.Verifications;
using OtpFailover.Workflow;

namespace OtpFailover.Tests.Email;

/// <summary>The email address, like the number, is never whole outside its ciphertext: not in rows, history or logs.</summary>
public sealed class EmailLeakTests
{
    private const string Address = "bea.costa@example.org";

    [Fact]
    public async Task TheAddress_AppearsInNoRow_NoHistory_AndNoLog()
    {
        await using var acs = await new AcsEmailStandIn(AcsStandIns.AccessKey).StartAsync();
        await using var app = await TestApp.StartAsync(o => o.Channels = "sms, email", backend: DurableBackend.AzureStorage, services: s =>
        {
            foreach (var descriptor in s.Where(d => d.ServiceType == typeof(OtpFailover.Email.IEmailCodeSender)).ToList())
            {
                s.Remove(descriptor);
            }

            s.AddAcsEmail(new ConfigurationBuilder().AddInMemoryCollection(AcsEmailSenderTests.Settings(acs)).Build());
        });
        app.Sms.Respond = (_, _) => ChannelSendResult.Rejected("sms_http_400", refusesRequest: true);
        Assert.True(PhoneNumber.TryParse("+14155550123", out var number));
        Assert.True(EmailAddress.TryParse(Address, out var email));

        var started = await app.Verifications.StartAsync(new StartRequest(number, "order-7", Email: email), app.Client, default);
        await app.WaitForPhaseAsync(started.Verification!.Id, WorkflowPhases.Of(Channel.Email, WorkflowPhases.Sent));
        var sent = Assert.Single(acs.Sent);
        Assert.Equal(Address, sent.To); // the stand-in did get it: the search below looks for something that exists
        await app.SmsDeliveryReports.NotifyAsync(EventGridEvents.EmailDeliveryReport(sent.OperationId, "Delivered"), TestSecrets.SmsWebhookKey, app.Client, default);

        var tables = new TableServiceClient(Azurite.ConnectionString);
        var everyTable = new StringBuilder();
        await foreach (var table in tables.QueryAsync())
        {
            if (table.Name.StartsWith(app.TableName, StringComparison.Ordinal) || table.Name.StartsWith(app.TaskHubName!, StringComparison.OrdinalIgnoreCase))
            {
                await foreach (var row in tables.GetTableClient(table.Name).QueryAsync<TableEntity>())
                {
                    foreach (var (key, value) in row)
                    {
                        everyTable.Append(key).Append('=').Append(value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
                    }
                }
            }
        }

        var stored = everyTable.ToString();
        Assert.Contains("order-7", stored, StringComparison.Ordinal);
        Assert.Contains(ActivityNames.SendCode, stored, StringComparison.Ordinal); // the history is searched too
        Assert.Contains("b•••@example.org", stored, StringComparison.Ordinal);
        Assert.DoesNotContain("bea.costa", stored, StringComparison.OrdinalIgnoreCase);
        var logs = string.Join('\n', app.Logs.GetSnapshot().Select(r => $"{r.Message}|{r.Exception}|{string.Join(',', r.StructuredState?.Select(kv => kv.Value) ?? [])}"));
        Assert.Contains("b•••@example.org", logs, StringComparison.Ordinal);
        Assert.DoesNotContain("bea.costa", logs, StringComparison.OrdinalIgnoreCase);
    }
}
