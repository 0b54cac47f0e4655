using Azure.Data.Tables;

namespace OtpFailover.Tests.Infrastructure;

/// <summary>Which numbers have a verification in flight: their row names one that is still pending.</summary>
public static class NumbersInFlight
{
    public static async Task<List<string>> ListAsync(TableClient table)
    {
        var held = new List<string>();
        await foreach (var number in table.QueryAsync<TableEntity>(r => r.RowKey == "usage"))
        {
            if (number.PartitionKey.StartsWith("usage-number-", StringComparison.Ordinal) && number.GetString("Holder") is { } holder)
            {
                var verification = await table.GetEntityIfExistsAsync<TableEntity>(holder, "verification");
                if (verification.HasValue && verification.Value!.GetString("Status") == "Pending")
                {
                    held.Add(number.PartitionKey);
                }
            }
        }

        return held;
    }
}
