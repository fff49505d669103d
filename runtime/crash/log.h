/*
 * log.h - the node's crash log: a crash report for every abnormal exit
 * and a supervisor report for every supervisor action, kept in the
 * node's SQLite database (the schema is in log.c and in ax(1)).
 *
 * A report is built in the context of the process it is about (the dying
 * process, or the supervisor), where its terms can still be read, and
 * queued as plain text, without a lock. One writer at a time takes the
 * queue and writes it in transactions: a scheduler that has nothing to
 * run, or the writer thread.
 *
 * Why idle schedulers write: with as many schedulers as cores, a writer
 * thread with work is one thread too many, and the kernel takes a core
 * from a busy scheduler for one of its time slices (milliseconds) to run
 * it: every process queued there waits that long (the crash_log_stall
 * benchmark). A scheduler with nothing to run instead writes reports,
 * on a core no process wanted, up to HELP_REPORTS in a transaction; it
 * stops between two rows, and commits what it wrote, as soon as it has
 * work again (a process to run or steal, or a timer due). Where the process
 * may leave it again, it writes in the kernel's idle class (log.c): its
 * core still counts as free, so another program's thread that wakes goes
 * there, not onto a core where a scheduler runs processes (where the
 * kernel looks for a free core: on a busy machine it may not). The spare
 * core is used all the same, and a small machine feels it: the benchmark
 * compares with a thread that only spins in the idle class (bench/
 * crash_log.c, crash_log_stall_spare_busy). The writer thread
 * writes when a core is spare (fewer schedulers than cores, or no node
 * running), when no scheduler has been idle for STARVE_MS while reports wait
 * (so that a report reaches the database soon under full load too), while a
 * supervisor is held back for the queue (a restart loop), when the queue
 * nears its bounds, and when the log closes; it alone opens the
 * database, retries a failing one, checkpoints the WAL and writes the
 * commit that starts the WAL afresh (SQLite syncs then), so a scheduler
 * never waits for the disk. A scheduler never waits for the writer
 * either: it only tries the writer's lock.
 *
 * Invariants:
 * - Every report accepted into the queue is either committed to the
 *   database or counted as dropped; none is silently lost. Reports are
 *   dropped only when the queue is at its bound (in reports or bytes),
 *   when memory runs out building one, or when the log is closed while
 *   the database cannot be written.
 * - While the database cannot be written (read-only, disk full, locked
 *   past the busy timeout) the reports stay queued, the failure is said
 *   once on stderr, and the writer retries every retry_ms.
 * - One writer at a time (q.db_lock) touches the database connection.
 *
 * A node that died of a fault outside any process left a crash dump
 * (dump.h) next to its database (NODE.db: NODE.dump). Opening the log
 * reads it and queues it as a crash report; once that report is
 * committed, the writer renames the dump NODE.dump.imported. A dump whose
 * report is committed already (the node died before the rename) is not
 * written twice.
 *
 * Files: log.c (the queue, the writer thread, the log's life),
 * log_report.c (building reports), log_db.c (SQLite, and the schema).
 */
#ifndef AX_CRASH_LOG_H
#define AX_CRASH_LOG_H

#include "../sched/sched.h"

/* Bounds of the log; a field left 0 takes its default. */
struct crash_log_limits {
    size_t max_rows;         /* rows kept per table; 100,000 */
    uint64_t max_age_s;      /* older rows are pruned; 30 days */
    size_t max_queued;       /* reports in memory; 1,000,000 */
    size_t max_queued_bytes; /* their bytes; 256 MiB */
    unsigned retry_ms;       /* between attempts when failing; 1000 */
};

/* What the log has done, for the node's health report. */
struct crash_log_stats {
    uint64_t written; /* reports committed since the program started */
    uint64_t queued;  /* reports in memory, not yet committed */
    uint64_t dropped; /* reports lost (see above) */
    bool failing;     /* the last attempt to write failed */
};

/*
 * Names the node, for the default path (NODE.db) and the node column;
 * "nonode" until called. Takes effect at the next ax__crash_log_open.
 * AX_EINVAL for an empty name, one with a '/', or one of 256 bytes or
 * more. Any thread.
 */
int ax__crash_log_set_node(const char *name);

/*
 * Opens the log on the database at path (NULL: the path given to
 * ax_crash_log_set_path, else $XDG_STATE_HOME/ax/NODE.db, else
 * ~/.local/state/ax/NODE.db) and starts its writer thread. The database
 * itself is opened (and its directory made) by the writer, so a path
 * that cannot be written shows as failing, not as an error here. If the
 * log is open already, path NULL changes nothing (so a log opened before
 * the node starts stays), and a path switches: reports not yet written
 * go to the new database. Errors: AX_ENOMEM (no thread or memory), AX_EINVAL
 * (no HOME to find the default path under). From a thread that is not a
 * process.
 *
 * Opening a log that was not open also points the fault handler's crash
 * dump (dump.h) next to the database (NODE.dump), and queues the report
 * of a dump found there (an earlier run's); switching keeps that path.
 * So it runs before the node's schedulers start.
 */
int ax__crash_log_open(const char *path);

/*
 * Writes what is queued (one last attempt if the database is failing),
 * stops the writer and closes the database; reports that could not be
 * written are counted as dropped and said on stderr. Reports of exits
 * after this are not recorded. Accepts a log that is not open. From a
 * thread that is not a process.
 */
void ax__crash_log_close(void);

/*
 * Waits until every report queued before the call is committed. Returns
 * 0, or AX_ESTATE if the log is not open or the database cannot be
 * written (after one more attempt; the reports stay queued). From a
 * thread that is not a process.
 */
int ax__crash_log_flush(void);

/* Sets the log's bounds (copied; NULL restores the defaults). The
 * writer applies them from its next batch. Any thread. */
void ax__crash_log_set_limits(const struct crash_log_limits *limits);

/* Fills out with the log's counters. Any thread. */
void ax__crash_log_stats(struct crash_log_stats *out);
/* The open log's database path (malloc'd, the caller frees it), or NULL
 * if the log is not open (or memory ran out); *node_start gets this
 * run's node_start column. Any thread. */
char *ax__crash_log_path(int64_t *node_start);

/* Whether the schedulers write reports in the kernel's idle class (the
 * process may leave it again: log.c). Found once. Any thread. */
bool ax__crash_log_idle_class(void);

/* Reports in memory, queued or being written: a scheduler with nothing
 * to run looks at it (ax__crash_log_help). */
extern _Atomic(size_t) ax__crash_queued;

/* A scheduler with nothing to run writes some reports in one
 * transaction, if it can take the writer's lock at once and the database
 * is open and not failing; it stops between two rows as soon as
 * busy(arg) says it has something to run. True if it wrote any. */
bool ax__crash_log_help(bool (*busy)(void *arg), void *arg);

/*
 * Records the exit of p with reason, if it is abnormal: not normal,
 * shutdown or {shutdown, _}, nor killed while the node is stopping (the
 * node's own stop is no crash). Builds the report from p's fields and
 * queues it, or counts it dropped (a closed log builds none). In p's
 * context, from the exit path, before p leaves its module version.
 */
void ax__crash_report(struct proc *p, ax_term_t reason);

/*
 * Queues a supervisor report (an ax_sup_hook_fn: the node installs it
 * with ax_supervisor_set_hook). In the supervisor's process, which then
 * waits (sleeping, as a process) while the queue is past its high-water
 * mark and the writer is writing: so a restart loop runs at the pace the
 * database takes its reports, and loses none; a crash storm without
 * restarts is held by the queue's bounds alone.
 */
void ax__crash_sup_report(const ax_sup_report_t *report);

/* ===================================================================== */
/* Between the crash log's files (log.c, log_report.c, log_db.c)          */
/* ===================================================================== */

/* The text columns of each table, in the order the INSERTs bind them. */
enum crash_field {
    CF_PID,
    CF_NAME,
    CF_MODULE,
    CF_VERSION,
    CF_REASON,
    CF_LAST_MESSAGE,
    CF_STATE,
    CF_MAILBOX,
    CF_LINKS,
    CF_MONITORS,
    CF_ANCESTORS,
    CF_BACKTRACE,
    CF_DUMP,
    CF_COUNT
};
enum sup_field {
    SF_SUPERVISOR,
    SF_SUP_NAME,
    SF_EVENT,
    SF_CHILD_ID,
    SF_CHILD_PID,
    SF_NEW_PID,
    SF_REASON,
    SF_COUNT
};
/* The integer columns: a crash's, then a supervisor report's. */
enum { N_MAILBOX_LEN, N_REDUCTIONS, N_HEAP_WORDS, N_COUNT };
enum { N_RESTARTS };

#define NO_FIELD UINT32_MAX

/* One report, as text: fields are NUL-terminated strings after the
 * struct, at the offsets in off (NO_FIELD: SQL NULL). One allocation. */
struct report {
    _Atomic(struct report *) qnext; /* in the queue (log.c) */
    struct report *next;            /* in a list being written */
    bool sup;       /* fields are sup_field's, else crash_field's */
    bool from_dump; /* a crash dump's: renamed once committed */
    int64_t time_us;
    int64_t node_start; /* the run it is about; 0: the log's own */
    int64_t num[N_COUNT];
    size_t size; /* of the block, for the queue's bound */
    uint32_t off[CF_COUNT];
};

_Static_assert((int)SF_COUNT <= (int)CF_COUNT,
               "report offsets hold either table");

/* Field f of r, or NULL (SQL NULL). */
static inline const char *report_field(const struct report *r, unsigned f)
{
    return r->off[f] == NO_FIELD ? NULL : (const char *)r + r->off[f];
}

/* The crash log's key of the pid of number n and serial s (its columns
 * pid_key and child_key): serial first, so that it grows as processes
 * are spawned (log_db.c). */
static inline int64_t ax__crash_pid_key(uint64_t n, uint64_t s)
{
    return (int64_t)((s & PID_SERIAL_MAX) << PID_NUMBER_BITS |
                     (n & PID_NUMBER_MAX));
}

/* Microseconds since the Unix epoch. */
int64_t ax__crash_now_us(void);

/* log_report.c: reports built from what they are about, in its process;
 * malloc'd (one block: free() frees it), NULL when memory runs out. */
struct report *ax__crash_report_new(struct proc *p, ax_term_t reason);
struct report *ax__crash_sup_report_new(const ax_sup_report_t *s);
/* The crash report of the fatal fault that dump d describes. */
struct fault_dump;
struct report *ax__crash_dump_report_new(const struct fault_dump *d);

/* log_db.c: the database, for whoever holds the writer's lock (log.c). */
struct crash_db;

/* A handle on the database at path, whose rows name node and node_start
 * (path, node and dump_path are kept: they outlive it); nothing is
 * opened until the first write. dump_path is the crash dump to rename
 * once its report is committed. NULL when memory runs out. */
struct crash_db *ax__crash_db_new(const char *path, const char *node,
                                  int64_t node_start, const char *dump_path);
/* Opens d's database and makes its schema now, so that readers find the
 * tables before the first report (errors wait for the first write). */
void ax__crash_db_prepare(struct crash_db *d);
/* Who writes, as ax__crash_db_write asks. */
struct crash_db_writer {
    /* Asked between two rows (at least one is written): true ends the
     * write there, what is in the transaction committed. NULL: never. */
    bool (*enough)(void *arg);
    void *arg;
    bool yield; /* give the CPU up every few rows (a thread beside busy
                 * schedulers) */
};

/*
 * Writes the list *list, opening the database first if it is not open;
 * *list is left at what was not written (NULL if all: w->enough may stop
 * it early), and the count and bytes of what was written, and freed, are
 * added to *n and *bytes. -1 on a failure: ax__crash_db_error says why
 * and the connection is closed; the next call reopens it.
 */
int ax__crash_db_write(struct crash_db *d, struct report **list,
                       const struct crash_log_limits *l,
                       const struct crash_db_writer *w, uint64_t *n,
                       size_t *bytes);
/* Whether its connection is open and its next commit will not wait for
 * the disk (a scheduler writes only then; else the writer thread writes
 * the next commit, which may start the WAL afresh: SQLite syncs that). */
bool ax__crash_db_ready(const struct crash_db *d);
/* Whether the WAL has grown enough for a checkpoint, and doing one (the
 * writer thread's: it waits for the disk). SQLite's own automatic
 * checkpoint is off. */
bool ax__crash_db_checkpoint_due(const struct crash_db *d);
void ax__crash_db_checkpoint(struct crash_db *d);
/* Why the last write failed. */
const char *ax__crash_db_error(const struct crash_db *d);
/* Closes the connection, if open, and frees d. Accepts NULL. */
void ax__crash_db_free(struct crash_db *d);

#endif /* AX_CRASH_LOG_H */
