/*
 * dump.h - the crash dump a node leaves when a fault outside any process
 * kills it, and reading it back at the next start.
 *
 * The dump is written from the signal handler, so with open, write,
 * mkdir, close and reads of memory only; its path is chosen beforehand:
 * next to the node's crash log (NODE.db: NODE.dump; log.h sets it as the
 * log opens, and imports a dump found there), else
 * $XDG_STATE_HOME/ax/NODE.dump, else ~/.local/state/ax/NODE.dump, NODE
 * being "nonode" until nodes have names. Missing directories are made
 * (mode 0700). A new dump replaces an older one at the same path.
 *
 * The format: text, one `key: value` a line, keys in this order; a
 * reader ignores keys it does not know (later versions may add some):
 *
 *   format: ax-crash-dump 1         always the first line
 *   what: SIGSEGV at address 0x0 (pc 0x55d0c0001234) in scheduler 1,
 *         outside any process (in the runtime): the node dies
 *                                   (one line: the summary also written
 *                                   to stderr after "ax: fatal: ")
 *   time: 2024-05-01T12:00:00.123456Z      UTC
 *   time_us: 1714564800123456              microseconds since the epoch
 *   node_start: 1714564700000000           when the node started (us), or 0
 *   os_pid: 4242
 *   signal: sigsegv                 sigsegv, sigbus, sigfpe, sigill or
 *                                   sigabrt (as in exit reasons)
 *   signo: 11
 *   code: 1                         si_code; 0 or less: sent, not a fault
 *   address: 0x0                    si_addr
 *   pc: 0x55d0c0001234              the interrupted instruction
 *   thread: scheduler 1             or "other": not a scheduler thread
 *   tid: 4243                       the faulting thread's
 *   running: <0.42.0>               that scheduler's process, or "none"
 *   recovering: no                  "yes": it faulted ending that process
 *                                   after the process's own fault
 *   frame: 0x55d0c0001234           the backtrace, innermost first: the
 *   frame: 0x55d0c0001300           pc, then return addresses
 *   processes: 12                   alive in the node
 *   schedulers: 2
 *   global_runq: 0                  processes queued on no scheduler
 *   sched: 0 running <0.12.0> runq 3
 *   sched: 1 sleeping runq 0        one line per scheduler: its id, then
 *                                   "running PID", "idle" or "sleeping",
 *                                   then its run queue's length
 *   map: 55d0c0000000-55d0c0001000 r--p 00000000 fe:00 1234 /usr/bin/ax
 *                                   each file-backed mapping, as in
 *                                   /proc/self/maps
 *   end: ok                         the dump is whole
 *
 * The map lines say where each module was loaded, so that the frames can
 * be symbolised later (ax__fault_dump_read does). The scheduler lines are
 * read without locks from a dying process: a snapshot, perhaps torn. A
 * dump without `end: ok` was cut short (the process died while writing
 * it), but what it has is good.
 */
#ifndef AX_CRASH_DUMP_H
#define AX_CRASH_DUMP_H

#include <stdbool.h>
#include <stdint.h>

#include "backtrace.h"

/* What the signal handler learnt about a fatal fault. */
struct fault_report {
    int sig;
    int code;   /* si_code */
    int sender; /* si_pid, for a signal sent by a process */
    uintptr_t addr;
    uintptr_t pc;
    int sched;        /* the faulting scheduler's id, or -1 */
    uint64_t running; /* the pid running there, or 0 (AX_NONE) */
    bool recovering;  /* the fault hit while ending `running` */
    bool no_recovery; /* `running` faulted; it could not be ended */
    size_t npcs;
    uintptr_t pcs[AX_BACKTRACE_MAX];
};

/* A dump read back (ax__fault_dump_read). */
struct fault_dump {
    bool complete; /* it ends with `end: ok` */
    int64_t time_us;
    int64_t node_start; /* 0: not known */
    long os_pid;
    char signal[16]; /* "sigsegv", ... */
    int signo;
    int code;
    uint64_t address;
    uint64_t pc;
    int sched; /* -1: not a scheduler thread */
    long tid;
    char running[48]; /* "<0.42.0>", or "" */
    bool recovering;
    char *what;       /* the summary line */
    char *schedulers; /* the `sched:` values, a line each */
    size_t nframes;
    uintptr_t frames[AX_BACKTRACE_MAX];
    char *backtrace; /* the frames symbolised, as backtrace.h */
    char *maps;      /* the `map:` values, a line each */
    char *text;      /* the whole file */
};

/*
 * Sets where the dump goes (copied), or with NULL the default path above
 * for the environment as it is now. Returns 0, or AX_EINVAL if path is
 * empty or too long. Not thread-safe: at node start, before any fault.
 */
int ax__fault_set_dump_path(const char *path);

/* Notes when the node started (microseconds since the epoch), for the
 * dump's node_start line. Not thread-safe: at node start, before any
 * fault. */
void ax__fault_set_dump_node_start(int64_t us);

/* The dump's path: the one set, or the default; "" when there is none
 * (neither XDG_STATE_HOME nor HOME is set). Static storage, valid until
 * the next ax__fault_set_dump_path. */
const char *ax__fault_dump_path(void);

/*
 * Writes to stderr what killed the node, and the dump to its path, from
 * the signal handler. Async-signal-safe; only one thread at a time (the
 * caller makes sure), as it uses static buffers.
 */
void ax__fault_dump_fatal(const struct fault_report *r);

/*
 * Finds the mapping of this process that contains addr, from
 * /proc/self/maps, for the bounds of an unknown thread's stack. Returns
 * whether it found one. Async-signal-safe; one thread at a time.
 */
bool ax__fault_dump_mapping(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);

/*
 * Reads the dump at path into out, which the caller then owns (free with
 * ax__fault_dump_destroy), symbolising its frames with its maps. The
 * caller removes the file once it has what it needs. Returns 0;
 * AX_EINVAL if the file cannot be read (errno says why: ENOENT when
 * there is no dump) or is not a crash dump; AX_ENOMEM. Ordinary context,
 * any thread.
 */
int ax__fault_dump_read(const char *path, struct fault_dump *out);

/* Frees what ax__fault_dump_read allocated in d; accepts NULL. */
void ax__fault_dump_destroy(struct fault_dump *d);

#endif /* AX_CRASH_DUMP_H */
