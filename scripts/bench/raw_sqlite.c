/* The physical limit for appends: plain SQLite inserts of the benchmark workload's rows into a
 * table shaped like Concord's events table (same columns and indexes), with no hashing, chaining,
 * signing or verification. Part of scripts/bench.sh.
 *
 * Usage: raw_sqlite DB FILE.ndjson bulk|single normal|full [LIMIT]
 *   bulk:   every row in one transaction
 *   single: one transaction per row (LIMIT rows), at the given synchronous level
 * Prints: rows seconds
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void check(int rc, sqlite3 *db, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "raw_sqlite: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* The value of "stream" in a workload line (the line's first field). */
static int stream_of(const char *line, const char **start) {
    const char *s = strstr(line, "\"stream\":\"");
    if (!s) { *start = ""; return 0; }
    s += 10;
    const char *e = strchr(s, '"');
    *start = s;
    return e ? (int)(e - s) : 0;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: raw_sqlite DB FILE bulk|single normal|full [LIMIT]\n"); return 2; }
    int bulk = strcmp(argv[3], "bulk") == 0;
    long limit = argc > 5 ? atol(argv[5]) : -1;
    sqlite3 *db;
    check(sqlite3_open(argv[1], &db), db, "open");
    check(sqlite3_exec(db, "PRAGMA journal_mode=WAL", 0, 0, 0), db, "wal");
    check(sqlite3_exec(db, strcmp(argv[4], "full") == 0 ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", 0, 0, 0), db, "sync");
    check(sqlite3_exec(db,
        "CREATE TABLE IF NOT EXISTS events (position INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL,"
        " stream TEXT NOT NULL, stream_version INTEGER NOT NULL, type TEXT NOT NULL, schema_version INTEGER NOT NULL,"
        " hlc INTEGER NOT NULL, recorded_at INTEGER NOT NULL, occurred_at INTEGER NOT NULL, stored_at INTEGER NOT NULL,"
        " actor TEXT NOT NULL, causation_id TEXT, correlation_id TEXT, prev TEXT NOT NULL, data TEXT NOT NULL,"
        " prev_hash BLOB NOT NULL, hash BLOB NOT NULL);"
        "CREATE UNIQUE INDEX IF NOT EXISTS events_by_origin ON events (origin, seq);"
        "CREATE INDEX IF NOT EXISTS events_by_stream ON events (stream, stream_version);"
        "CREATE INDEX IF NOT EXISTS events_by_hlc ON events (hlc, origin, seq);", 0, 0, 0), db, "schema");
    FILE *in = fopen(argv[2], "r");
    if (!in) { perror(argv[2]); return 1; }
    sqlite3_stmt *insert;
    check(sqlite3_prepare_v2(db,
        "INSERT INTO events (origin, seq, stream, stream_version, type, schema_version, hlc, recorded_at, occurred_at,"
        " stored_at, actor, prev, data, prev_hash, hash) VALUES (?, ?, ?, ?, 'event', 1, ?, ?, ?, ?, 'bench', '', ?, ?, ?)",
        -1, &insert, 0), db, "prepare");
    const char *origin = "0123456789abcdef0123456789abcdef";
    unsigned char hash[32];
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long rows = 0;
    double started = now();
    if (bulk) check(sqlite3_exec(db, "BEGIN", 0, 0, 0), db, "begin");
    while ((len = getline(&line, &cap, in)) > 0 && (limit < 0 || rows < limit)) {
        if (line[len - 1] == '\n') line[--len] = 0;
        const char *stream;
        int stream_len = stream_of(line, &stream);
        for (int i = 0; i < 32; i++) hash[i] = (unsigned char)(rows * 31 + i);
        if (!bulk) check(sqlite3_exec(db, "BEGIN", 0, 0, 0), db, "begin");
        sqlite3_bind_text(insert, 1, origin, 32, SQLITE_STATIC);
        sqlite3_bind_int64(insert, 2, rows + 1);
        sqlite3_bind_text(insert, 3, stream, stream_len, SQLITE_STATIC);
        sqlite3_bind_int64(insert, 4, rows + 1);
        sqlite3_bind_int64(insert, 5, (rows + 1) << 16);
        sqlite3_bind_int64(insert, 6, 1457519400000LL + rows);
        sqlite3_bind_int64(insert, 7, 1457519400000LL + rows);
        sqlite3_bind_int64(insert, 8, 1457519400000LL + rows);
        sqlite3_bind_text(insert, 9, line, (int)len, SQLITE_STATIC);
        sqlite3_bind_blob(insert, 10, hash, 32, SQLITE_STATIC);
        sqlite3_bind_blob(insert, 11, hash, 32, SQLITE_STATIC);
        check(sqlite3_step(insert), db, "insert");
        sqlite3_reset(insert);
        if (!bulk) check(sqlite3_exec(db, "COMMIT", 0, 0, 0), db, "commit");
        rows++;
    }
    if (bulk) check(sqlite3_exec(db, "COMMIT", 0, 0, 0), db, "commit");
    printf("%ld %.6f\n", rows, now() - started);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    free(line);
    return 0;
}
