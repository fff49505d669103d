/*
 * crashlog.c - the crash log under ThreadSanitizer (see stress.c for why
 * a plain program): processes crash on four schedulers while the main
 * thread reads the log's counters, flushes it and switches it to another
 * database; every report must end up in one of the two, none twice.
 * Prints "ok NAME" or "FAIL NAME: why", then the "N passed, N failed"
 * summary.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "crash/log.h"

#define SPAWNERS 8
#define PER_SPAWNER 2500

static void crash(ax_term_t reason)
{
    ax_exit(reason);
}

static void spawner(ax_term_t arg)
{
    for (int i = 0; i < PER_SPAWNER; i++)
        if (ax_spawn(crash, arg, NULL) != 0)
            ax_exit(ax_atom("spawn_failed"));
}

/* Starts the spawners, then waits until every process but itself is
 * gone. */
static void root(ax_term_t arg)
{
    ax_node_stats_t st;

    (void)arg;
    for (int i = 0; i < SPAWNERS; i++)
        if (ax_spawn(spawner, ax_atom("tsan_storm"), NULL) != 0)
            ax_exit(ax_atom("spawn_failed"));
    do {
        ax_sleep(1);
        ax_node_stats(&st);
    } while (st.processes > 1);
}

/* The crash rows in the database at path (none if there is no such
 * file: the log makes it at its first write), or -1. */
static long long rows_in(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long n = -1;

    if (access(path, F_OK) != 0)
        return 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM crash", -1, &s, NULL) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    if (sqlite3_finalize(s) != SQLITE_OK || sqlite3_close(db) != SQLITE_OK)
        n = -1;
    return n;
}

/* The node's root runs on a thread of its own, so that this one can
 * poke the log meanwhile. */
static void *run_root(void *arg)
{
    int *err = arg;

    *err = ax_node_run(root, AX_NIL, NULL);
    return NULL;
}

static const char *storm_while_poked(const char *a, const char *b)
{
    struct crash_log_stats st;
    pthread_t thread;
    int err = -1;

    if (ax_crash_log_set_path(a) || ax_node_start(NULL))
        return "node start";
    if (pthread_create(&thread, NULL, run_root, &err) != 0)
        return "thread";
    for (int i = 0; i < 20; i++) {
        ax__crash_log_stats(&st);
        if (i == 10 && ax__crash_log_open(b) != 0)
            return "switch";
        if (i % 5 == 0 && ax__crash_log_flush() != 0)
            return "flush";
        usleep(1000);
    }
    pthread_join(thread, NULL);
    if (err != 0 || ax__crash_log_flush() != 0 || ax_node_stop() != 0)
        return "storm";
    ax__crash_log_stats(&st);
    if (st.dropped != 0 || st.queued != 0)
        return "reports dropped or left";
    if (rows_in(a) + rows_in(b) != SPAWNERS * PER_SPAWNER)
        return "rows lost or doubled";
    return NULL;
}

static void remove_db(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char name[96];

    for (size_t i = 0; i < 3; i++) {
        snprintf(name, sizeof(name), "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

int main(void)
{
    char dir[] = "/tmp/ax-tsan-crashlog-XXXXXX";
    char a[64];
    char b[64];
    const char *why;

    if (!mkdtemp(dir))
        return 1;
    snprintf(a, sizeof(a), "%s/a.db", dir);
    snprintf(b, sizeof(b), "%s/b.db", dir);
    why = storm_while_poked(a, b);
    if (why)
        printf("FAIL storm_while_poked: %s\n", why);
    else
        printf("ok storm_while_poked\n");
    printf("%d passed, %d failed\n", why ? 0 : 1, why ? 1 : 0);
    remove_db(a);
    remove_db(b);
    rmdir(dir);
    return why ? 1 : 0;
}
