using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using ModelDsl.Core;
using ModelDsl.Core.Json;

namespace ModelDsl.Runtime.Runs;

/// <summary>
/// An SQLite index of the runs of sweeps: which configuration ran where, its status and its final
/// metrics. Each row is written in its own transaction, so a crash leaves at most one run marked
/// Running, which a resumed sweep trains again (the trainer continues from its checkpoints).
/// </summary>
public sealed class RunStore : IDisposable
{
    private readonly SqliteConnection connection;

    private RunStore(SqliteConnection connection) => this.connection = connection;

    public string DatabasePath { get; private init; } = "";

    /// <summary>Opens (creating when missing) the store in the given database file.</summary>
    public static RunStore Open(string databasePath)
    {
        var full = Path.GetFullPath(databasePath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // No connection pooling: a closed store must release the file (tests delete folders).
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = full, Pooling = false }.ToString());
        try
        {
            connection.Open();
            // Reading the schema reads the file's header: a file that is not a database fails here, by name.
            using (var probe = connection.CreateCommand())
            {
                probe.CommandText = "SELECT count(*) FROM sqlite_master";
                probe.ExecuteScalar();
            }
            CreateTables(connection);
        }
        catch (SqliteException e)
        {
            // A damaged or foreign file is reported and left as it is: it may be the only record of finished runs.
            connection.Dispose();
            throw new InvalidDataException(
                $"run index '{full}' cannot be used: {e.Message.TrimEnd('.')}; it was left untouched (move it away to start a new index; finished run directories stay where they are)", e);
        }
        return new RunStore(connection) { DatabasePath = full };
    }

    // Concurrent writers (a sweep's array tasks on a cluster) wait for each other's short
    // transactions instead of failing; WAL lets readers go on while one writes.
    private static void CreateTables(SqliteConnection connection) =>
        Execute(connection, """
            PRAGMA busy_timeout = 60000;
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS sweeps (
                id TEXT PRIMARY KEY,
                spec_json TEXT NOT NULL,
                updated_utc TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS runs (
                key TEXT PRIMARY KEY,
                sweep_id TEXT NOT NULL,
                arm TEXT NOT NULL,
                ratio REAL NULL,
                point TEXT NOT NULL,
                point_values TEXT NOT NULL,
                status TEXT NOT NULL,
                validation_loss REAL NULL,
                train_loss REAL NULL,
                steps INTEGER NULL,
                wall_seconds REAL NULL,
                run_directory TEXT NOT NULL,
                error TEXT NULL,
                updated_utc TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS runs_by_sweep ON runs (sweep_id, arm, ratio);
            """);

    /// <summary>A short stable key for an experiment: SHA-256 of its spec JSON, 16 hex digits. The
    /// CPU thread count is left out: it changes how fast a run goes, not what it computes, so a
    /// sweep resumed with another thread count reuses its runs. Data files are named by their content
    /// (<see cref="DataIdentity"/>), not their path, so a study's recorded runs are found again from
    /// another checkout.</summary>
    public static string KeyOf(ExperimentSpec spec) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(SpecJson.Serialize(spec with
        {
            Task = spec.Task is null ? null! : DataIdentity.ContentAddressed(spec.Task),
            Training = spec.Training with { Threads = null },
        }))))[..16];

    /// <summary>Records (or updates) the spec a sweep was last run with.</summary>
    public void RecordSweep(string sweepId, string specJson) =>
        Execute(connection, """
            INSERT INTO sweeps (id, spec_json, updated_utc) VALUES ($id, $spec, $now)
            ON CONFLICT (id) DO UPDATE SET spec_json = excluded.spec_json, updated_utc = excluded.updated_utc
            """, ("$id", sweepId), ("$spec", specJson), ("$now", Now()));

    public string? SweepSpecJson(string sweepId)
    {
        using var command = Command(connection, "SELECT spec_json FROM sweeps WHERE id = $id", ("$id", sweepId));
        return command.ExecuteScalar() as string;
    }

    public IReadOnlyList<string> SweepIds()
    {
        using var command = Command(connection, "SELECT id FROM sweeps ORDER BY id");
        using var reader = command.ExecuteReader();
        var ids = new List<string>();
        while (reader.Read()) ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>Marks a run as started (status Running), clearing any earlier result.</summary>
    public void MarkRunning(string key, string sweepId, string arm, double? ratio, IReadOnlyList<int> point,
        IReadOnlyList<(string Label, double Value)> values, string runDirectory) =>
        Execute(connection, """
            INSERT INTO runs (key, sweep_id, arm, ratio, point, point_values, status, run_directory, updated_utc)
            VALUES ($key, $sweep, $arm, $ratio, $point, $values, 'running', $dir, $now)
            ON CONFLICT (key) DO UPDATE SET sweep_id = excluded.sweep_id, arm = excluded.arm, ratio = excluded.ratio,
                point = excluded.point, point_values = excluded.point_values, status = 'running',
                validation_loss = NULL, train_loss = NULL, steps = NULL, wall_seconds = NULL, error = NULL,
                run_directory = excluded.run_directory, updated_utc = excluded.updated_utc
            """,
            ("$key", key), ("$sweep", sweepId), ("$arm", arm), ("$ratio", ratio), ("$point", string.Join(",", point)),
            ("$values", JsonSerializer.Serialize(values.Select(v => new object[] { v.Label, v.Value }))), ("$dir", runDirectory), ("$now", Now()));

    /// <summary>Stores the outcome of a run started with <see cref="MarkRunning"/>.</summary>
    public void Complete(string key, RunStoreStatus status, double? validationLoss, double? trainLoss, long? steps, double? wallSeconds, string? error = null)
    {
        if (status == RunStoreStatus.Running) throw new ArgumentException("a completed run cannot be Running", nameof(status));
        var changed = Execute(connection, """
            UPDATE runs SET status = $status, validation_loss = $loss, train_loss = $train, steps = $steps,
                wall_seconds = $wall, error = $error, updated_utc = $now
            WHERE key = $key
            """, ("$key", key), ("$status", StatusName(status)), ("$loss", Finite(validationLoss)), ("$train", Finite(trainLoss)),
            ("$steps", steps), ("$wall", wallSeconds), ("$error", error), ("$now", Now()));
        if (changed != 1) throw new InvalidOperationException($"run {key} is not in the store {DatabasePath}; mark it running first");
    }

    public RunStoreEntry? Find(string key)
    {
        using var command = Command(connection, "SELECT * FROM runs WHERE key = $key", ("$key", key));
        using var reader = command.ExecuteReader();
        return reader.Read() ? ReadRun(reader) : null;
    }

    /// <summary>Every run of a sweep, oldest update first.</summary>
    public IReadOnlyList<RunStoreEntry> RunsOf(string sweepId)
    {
        using var command = Command(connection, "SELECT * FROM runs WHERE sweep_id = $sweep ORDER BY updated_utc, key", ("$sweep", sweepId));
        using var reader = command.ExecuteReader();
        var runs = new List<RunStoreEntry>();
        while (reader.Read()) runs.Add(ReadRun(reader));
        return runs;
    }

    public static string DescribeValues(IReadOnlyList<(string Label, double Value)> values) =>
        string.Join(", ", values.Select(v => $"{v.Label}={v.Value.ToString("G6", CultureInfo.InvariantCulture)}"));

    public void Dispose() => connection.Dispose();

    private static RunStoreEntry ReadRun(SqliteDataReader r)
    {
        double? NullableDouble(string column) => r.IsDBNull(r.GetOrdinal(column)) ? null : r.GetDouble(r.GetOrdinal(column));
        var point = r.GetString(r.GetOrdinal("point"));
        var values = JsonSerializer.Deserialize<JsonElement[][]>(r.GetString(r.GetOrdinal("point_values")))!
            .Select(pair => (pair[0].GetString()!, pair[1].GetDouble())).ToList();
        var steps = r.GetOrdinal("steps");
        var error = r.GetOrdinal("error");
        return new RunStoreEntry(
            r.GetString(r.GetOrdinal("key")),
            r.GetString(r.GetOrdinal("sweep_id")),
            r.GetString(r.GetOrdinal("arm")),
            NullableDouble("ratio"),
            point.Length == 0 ? [] : point.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList(),
            values,
            ParseStatus(r.GetString(r.GetOrdinal("status"))),
            // A diverged run's NaN loss is stored as NULL (SQLite has no NaN).
            NullableDouble("validation_loss"),
            NullableDouble("train_loss"),
            r.IsDBNull(steps) ? null : r.GetInt64(steps),
            NullableDouble("wall_seconds"),
            r.GetString(r.GetOrdinal("run_directory")),
            r.IsDBNull(error) ? null : r.GetString(error),
            DateTime.Parse(r.GetString(r.GetOrdinal("updated_utc")), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind));
    }

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
    private static string Now() => DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture);

    private static string StatusName(RunStoreStatus status) => status switch
    {
        RunStoreStatus.Running => "running",
        RunStoreStatus.Finished => "finished",
        RunStoreStatus.Diverged => "diverged",
        RunStoreStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    private static RunStoreStatus ParseStatus(string name) => name switch
    {
        "running" => RunStoreStatus.Running,
        "finished" => RunStoreStatus.Finished,
        "diverged" => RunStoreStatus.Diverged,
        "failed" => RunStoreStatus.Failed,
        _ => throw new InvalidDataException($"unknown run status '{name}' in the run store"),
    };

    private static SqliteCommand Command(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    private static int Execute(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, sql, parameters);
        return command.ExecuteNonQuery();
    }
}
