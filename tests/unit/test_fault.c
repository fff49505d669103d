/*
 * test_fault.c - native faults end the faulting process, not the node:
 * stack overflow, NULL dereference, division by zero, abort(), an
 * illegal instruction, a bus error (a page past a file's end); its
 * monitors see the reason, and the node serves on, through a storm of
 * 10,000 faults too. Each fault's backtrace names the faulting function
 * and its file and line. A fault outside any process kills the program
 * (in a forked child), says so on stderr, and leaves a crash dump that
 * reads back with its backtrace symbolised.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash/fault.h"
#include "proc_util.h"

/* Not static, never inlined: their names must show in backtraces. */
void ax_test_fault_here(ax_term_t arg);
char *ax_test_backtrace_here(void);
void ax_test_fatal_here(void);

/* The sanitizers would catch these faults first, and must not: they are
 * what the runtime is tested on. */
#define RAW_FAULT __attribute__((no_sanitize("undefined", "address")))

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

/* Recurses until the stack runs out (the limit only defeats the
 * compiler's proof that it never ends). */
RAW_FAULT static int deep(volatile int n)
{
    volatile char pad[512];

    pad[0] = (char)n;
    if (n == -1)
        return 0;
    return deep(n + 1) + pad[0];
}

static void overflow(ax_term_t arg)
{
    (void)arg;
    deep(0);
}

RAW_FAULT static void null_deref(ax_term_t arg)
{
    volatile int *p = NULL;

    (void)arg;
    *p = 1;
}

RAW_FAULT static void divide_by_zero(ax_term_t arg)
{
    volatile int zero = 0;
    volatile int x = 1;

    (void)arg;
    x = x / zero;
}

static void aborts(ax_term_t arg)
{
    (void)arg;
    abort();
}

/* An instruction the processor does not have. */
RAW_FAULT static void illegal_instruction(ax_term_t arg)
{
    (void)arg;
#if defined(__x86_64__)
    __asm__ volatile("ud2");
#elif defined(__aarch64__)
    __asm__ volatile(".inst 0x00000000"); /* udf #0 */
#else
    raise(SIGILL);
#endif
}

/* Where bus_error's page is mapped, for the reason's address. */
static _Atomic uintptr_t bus_page;

/* Reads a page of a file that has no byte behind it: a bus error. */
RAW_FAULT static void bus_error(ax_term_t arg)
{
    int fd = memfd_create("ax-test-bus", 0); /* empty */
    volatile char *page;

    (void)arg;
    CHECK(fd >= 0);
    page = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    CHECK(page != MAP_FAILED);
    atomic_store(&bus_page, (uintptr_t)page);
    (void)page[0];
}

/* The exit reason of fn, seen through a monitor. */
static ax_term_t reason_of(ax_body_fn fn)
{
    ax_term_t pid;
    ax_term_t ref;
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;

    CHECK(ax_spawn_monitor(fn, AX_NIL, &pid, &ref) == 0);
    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), ref, A("process"), pid,
                              AX_VAR(0)),
                     10000, &m, b) == 0);
    return b[0];
}

static void faults(ax_term_t arg)
{
    ax_term_t r;

    (void)arg;
    CHECK(reason_of(overflow) == A("stack_overflow"));
    r = reason_of(null_deref);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 3, A("signal"), A("sigsegv"),
                                     ax_int(ax_heap(), 0))));
    r = reason_of(divide_by_zero);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 2, A("signal"), A("sigfpe"))));
    r = reason_of(aborts);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 2, A("signal"), A("sigabrt"))));
    r = reason_of(illegal_instruction);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 2, A("signal"), A("sigill"))));
    r = reason_of(bus_error);
    CHECK(ax_equal_exact(
        r, ax_tuple(ax_heap(), 3, A("signal"), A("sigbus"),
                    ax_int(ax_heap(), (int64_t)atomic_load(&bus_page)))));
    munmap((void *)atomic_load(&bus_page), 4096);
}

Test(fault, native_faults_end_only_their_process)
{
    run_root(2, faults, AX_NIL);
}

static void many_faults(ax_term_t arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++)
        CHECK(reason_of(i % 2 ? null_deref : overflow) != A("normal"));
}

Test(fault, the_node_survives_many_faults)
{
    run_root(2, many_faults, AX_NIL);
}

/* --- A storm of faults while a process serves ---------------------------- */

#define STORM 10000

/* Answers {ping, From, N} with {pong, N} until told to stop. */
static void pinger(ax_term_t arg)
{
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;

    (void)arg;
    for (;;) {
        CHECK(ax_receive(AX_ANY, -1, &m, NULL) == 0);
        if (m == A("stop"))
            return;
        CHECK(ax_match(ax_tuple(ax_heap(), 3, A("ping"), AX_VAR(0), AX_VAR(1)),
                       m, b));
        CHECK(ax_send(b[0], ax_tuple(ax_heap(), 2, A("pong"), b[1])) == 0);
    }
}

/* Runs STORM segfaulting processes one after another, each seen to die
 * of its fault, then tells arg {storm_done, Count}. */
static void storm(ax_term_t arg)
{
    ax_term_t segv =
        ax_tuple(ax_heap(), 3, A("signal"), A("sigsegv"), ax_int(ax_heap(), 0));
    int64_t n = 0;

    for (int i = 0; i < STORM; i++)
        n += ax_equal_exact(reason_of(null_deref), segv);
    CHECK(ax_send(arg, ax_tuple(ax_heap(), 2, A("storm_done"),
                                ax_int(ax_heap(), n))) == 0);
}

static void serve_through_storm(ax_term_t arg)
{
    ax_term_t b[AX_VARS_MAX];
    ax_term_t p;
    ax_term_t s;
    ax_term_t m;
    int64_t pongs = 0;
    int64_t done = -1;

    (void)arg;
    CHECK(ax_spawn_link(pinger, AX_NIL, &p) == 0);
    CHECK(ax_spawn_link(storm, ax_self(), &s) == 0);
    while (done < 0) {
        ax_term_t n = ax_int(ax_heap(), pongs);

        CHECK(ax_send(p, ax_tuple(ax_heap(), 3, A("ping"), ax_self(), n)) == 0);
        /* Every call is answered, and soon, all through the storm. */
        CHECK(ax_receive(ax_tuple(ax_heap(), 2, A("pong"), n), 2000, &m,
                         NULL) == 0);
        pongs++;
        if (ax_receive(ax_tuple(ax_heap(), 2, A("storm_done"), AX_VAR(0)), 0,
                       &m, b) == 0)
            CHECK(ax_get_int(b[0], &done) == 0);
    }
    CHECK(done == STORM);
    CHECK(pongs >= 10);
    CHECK(ax_send(p, A("stop")) == 0);
}

Test(fault, the_node_survives_10000_segfaults_and_serves_meanwhile,
     .timeout = 120)
{
    run_root(2, serve_through_storm, AX_NIL);
}

/* --- Backtraces ----------------------------------------------------------- */

static int fault_line;

RAW_FAULT __attribute__((noinline)) void ax_test_fault_here(ax_term_t arg)
{
    volatile int *volatile p = NULL; /* no trap, no dead store */

    (void)arg;
    *p = fault_line = __LINE__; /* the line of the fault, checked */
}

static void exits_normally(ax_term_t arg)
{
    (void)arg;
}

/* What the exit hook saw, per pid: the fault's backtrace or none. */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static ax_term_t seen_pid[8];
static char *seen_bt[8];
static size_t nseen;
static void (*node_hook)(struct proc *p, ax_term_t reason);

static void recording_hook(struct proc *p, ax_term_t reason)
{
    const char *bt = ax__fault_backtrace();

    pthread_mutex_lock(&seen_lock);
    if (nseen < 8) {
        seen_pid[nseen] = ax_self();
        seen_bt[nseen] = bt ? strdup(bt) : NULL;
        nseen++;
    }
    pthread_mutex_unlock(&seen_lock);
    node_hook(p, reason);
}

/* Whether the hook has seen pid exit; its backtrace in *bt if so. */
static bool seen(ax_term_t pid, const char **bt)
{
    bool found = false;

    pthread_mutex_lock(&seen_lock);
    for (size_t i = 0; i < nseen && !found; i++)
        if (seen_pid[i] == pid) {
            *bt = seen_bt[i];
            found = true;
        }
    pthread_mutex_unlock(&seen_lock);
    return found;
}

/* The backtrace the exit hook saw for fn's process (NULL for none). */
static const char *backtrace_of(ax_body_fn fn)
{
    ax_term_t pid;
    ax_term_t ref;
    ax_term_t m;
    const char *bt = NULL;

    CHECK(ax_spawn_monitor(fn, AX_NIL, &pid, &ref) == 0);
    CHECK(ax_receive(
              ax_tuple(ax_heap(), 5, A("DOWN"), ref, A("process"), pid, AX_ANY),
              10000, &m, NULL) == 0);
    /* The DOWN goes out before the exit hook runs. */
    for (int i = 0; i < 1000 && !seen(pid, &bt); i++)
        ax_sleep(2);
    CHECK(seen(pid, &bt));
    return bt;
}

static void backtraces(ax_term_t arg)
{
    char where[64];
    const char *bt;
    char *now;

    (void)arg;
    /* In a process, on its small stack too. */
    now = ax_test_backtrace_here();
    CHECK(now && strstr(now, " ax_test_backtrace_here (test-unit) ") &&
          strstr(now, " backtraces (test-unit) "));
    free(now);
    CHECK(backtrace_of(exits_normally) == NULL);
    bt = backtrace_of(ax_test_fault_here);
    CHECK(bt != NULL);
    CHECK(strncmp(bt, "#0 0x", 5) == 0);
    CHECK(strstr(bt, " ax_test_fault_here (test-unit) ") != NULL);
    snprintf(where, sizeof(where), "tests/unit/test_fault.c:%d\n", fault_line);
    CHECK(strstr(bt, where) != NULL);
    CHECK(strstr(bt, "\n#1 0x") != NULL); /* and the frames above it */
    cr_log_info("%s", bt);
}

Test(fault, a_faults_backtrace_names_function_file_and_line)
{
    ax_node_opts_t o = {.schedulers = 2};
    char *reason = NULL;
    int err;

    cr_assert_eq(ax_node_start(&o), 0);
    node_hook = ax__exit_hook;
    ax__exit_hook = recording_hook;
    err = ax_node_run(backtraces, AX_NIL, &reason);
    cr_assert_eq(ax_node_stop(), 0);
    cr_assert_eq(err, 0, "root exited with %s", reason ? reason : "?");
    free(reason);
    for (size_t i = 0; i < nseen; i++)
        free(seen_bt[i]);
}

Test(fault, symbolising_garbage_gives_raw_addresses)
{
    uintptr_t pcs[] = {0x10, (uintptr_t)-1, 0};
    char *s = ax__backtrace_symbolise(pcs, 3, true);

    cr_assert_str_eq(s, "#0 0x10\n#1 0xffffffffffffffff\n#2 0x0\n");
    free(s);
}

__attribute__((noinline)) char *ax_test_backtrace_here(void)
{
    char *s = ax__backtrace_now(0);

    __asm__ volatile("" ::: "memory"); /* no tail call */
    return s;
}

Test(fault, a_backtrace_of_the_running_thread)
{
    char *s = ax_test_backtrace_here();

    cr_assert_not_null(s);
    cr_assert(strncmp(s, "#0 0x", 5) == 0, "%s", s);
    cr_assert(strstr(s, " ax_test_backtrace_here (test-unit) ") != NULL, "%s",
              s);
    cr_assert(strstr(s, "tests/unit/test_fault.c:") != NULL, "%s", s);
    free(s);
}

/* --- Fatal faults: a crash dump ------------------------------------------- */

RAW_FAULT __attribute__((noinline)) void ax_test_fatal_here(void)
{
    volatile int *volatile p = NULL; /* no trap, no dead store */

    *p = 2;
}

static void *faulting_thread(void *arg)
{
    (void)arg;
    ax_test_fatal_here();
    return NULL;
}

static void fault_in_a_thread(void)
{
    pthread_t t;

    pthread_create(&t, NULL, faulting_thread, NULL);
    pthread_join(t, NULL);
}

/* A scheduler outside any process: an idle one, sent the signal. */
static void fault_in_a_scheduler(void)
{
    /* Once it has started (set its fault handling up) and sleeps. */
    while (!atomic_load(&ax__node.scheds[1].sleeping))
        usleep(1000);
    pthread_kill(ax__node.scheds[1].thread, SIGSEGV);
    pause();
}

static void abort_in_main(void)
{
    abort();
}

/* What a child that died of a fatal fault left. */
struct death {
    char dir[64];
    char dump[128];
    char err[4096]; /* its stderr */
    int status;
};

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Runs how() in a child with a node started and XDG_STATE_HOME in a new
 * directory; collects its end. */
static void die_in_child(void (*how)(void), struct death *d)
{
    char errpath[128];
    ax_node_opts_t o = {.schedulers = 2};
    FILE *f;
    pid_t pid;
    int fd;
    size_t n;

    strcpy(d->dir, "/tmp/ax-fault-XXXXXX");
    cr_assert_not_null(mkdtemp(d->dir));
    snprintf(d->dump, sizeof(d->dump), "%s/ax/nonode.dump", d->dir);
    snprintf(errpath, sizeof(errpath), "%s/stderr", d->dir);
    fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(fd, STDERR_FILENO);
        setenv("XDG_STATE_HOME", d->dir, 1);
        if (ax_node_start(&o) != 0)
            _exit(2);
        how();
        _exit(3);
    }
    close(fd);
    cr_assert_eq(waitpid(pid, &d->status, 0), pid);
    f = fopen(errpath, "r");
    cr_assert_not_null(f);
    n = fread(d->err, 1, sizeof(d->err) - 1, f);
    d->err[n] = '\0';
    fclose(f);
}

static void forget(struct death *d, struct fault_dump *dump)
{
    ax__fault_dump_destroy(dump);
    nftw(d->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Checks what every fatal dump has. */
static void check_dump(const struct death *d, const struct fault_dump *f,
                       int sig, const char *name)
{
    cr_assert(WIFSIGNALED(d->status) && WTERMSIG(d->status) == sig,
              "status %#x; stderr:\n%s", d->status, d->err);
    cr_assert(strstr(d->err, "ax: crash dump written to ") != NULL, "%s",
              d->err);
    cr_assert(strstr(d->err, d->dump) != NULL, "%s", d->err);
    cr_assert(f->complete);
    cr_assert_str_eq(f->signal, name);
    cr_assert_eq(f->signo, sig);
    cr_assert(f->time_us > 0);
    cr_assert(f->os_pid > 0);
    cr_assert(f->tid > 0);
    cr_assert(f->what && strstr(d->err, f->what) != NULL);
    cr_assert(f->schedulers && strncmp(f->schedulers, "0 ", 2) == 0);
    cr_assert(strstr(f->schedulers, "\n1 ") != NULL);
    cr_assert(f->nframes >= 1);
    cr_assert(f->maps && strstr(f->maps, "/test-unit\n") != NULL);
    cr_assert(f->backtrace && strncmp(f->backtrace, "#0 0x", 5) == 0);
}

Test(fault, a_fault_in_a_plain_thread_is_fatal_and_leaves_a_dump, .timeout = 60)
{
    struct death d;
    struct fault_dump f;

    die_in_child(fault_in_a_thread, &d);
    cr_assert_eq(ax__fault_dump_read(d.dump, &f), 0, "%s", d.err);
    check_dump(&d, &f, SIGSEGV, "sigsegv");
    cr_assert(strstr(d.err, "ax: fatal: SIGSEGV at address 0x0 (pc 0x") != NULL,
              "%s", d.err);
    cr_assert(strstr(d.err, ", which is not a scheduler: the node dies\n") !=
                  NULL,
              "%s", d.err);
    cr_assert_eq(f.address, 0);
    cr_assert_eq(f.sched, -1);
    cr_assert_str_eq(f.running, "");
    cr_assert(!f.recovering);
    cr_assert(f.nframes >= 2);
    cr_assert(strstr(f.backtrace, "#0 0x") &&
                  strstr(f.backtrace, " ax_test_fatal_here (test-unit) "),
              "%s", f.backtrace);
    cr_assert(strstr(f.backtrace, " faulting_thread (test-unit) "), "%s",
              f.backtrace);
    cr_assert(strstr(f.backtrace, "tests/unit/test_fault.c:"), "%s",
              f.backtrace);
    cr_log_info("%s\n%s", d.err, f.backtrace);
    forget(&d, &f);
}

Test(fault, a_fault_in_a_scheduler_outside_a_process_is_fatal, .timeout = 60)
{
    struct death d;
    struct fault_dump f;

    die_in_child(fault_in_a_scheduler, &d);
    cr_assert_eq(ax__fault_dump_read(d.dump, &f), 0, "%s", d.err);
    check_dump(&d, &f, SIGSEGV, "sigsegv");
    cr_assert(strstr(d.err, "ax: fatal: SIGSEGV raised by the program") != NULL,
              "%s", d.err);
    cr_assert(strstr(d.err, " in scheduler 1, outside any process (in the "
                            "runtime): the node dies\n") != NULL,
              "%s", d.err);
    cr_assert_eq(f.sched, 1);
    cr_assert_str_eq(f.running, "");
    forget(&d, &f);
}

Test(fault, abort_outside_a_process_is_fatal_and_leaves_a_dump, .timeout = 60)
{
    struct death d;
    struct fault_dump f;

    die_in_child(abort_in_main, &d);
    cr_assert_eq(ax__fault_dump_read(d.dump, &f), 0, "%s", d.err);
    check_dump(&d, &f, SIGABRT, "sigabrt");
    cr_assert(strstr(d.err, "ax: fatal: SIGABRT raised by the program") != NULL,
              "%s", d.err);
    cr_assert_eq(f.sched, -1);
    forget(&d, &f);
}

Test(fault, reading_what_is_not_a_dump_fails)
{
    char path[] = "/tmp/ax-notdump-XXXXXX";
    struct fault_dump f;
    int fd = mkstemp(path);

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "hello: world\n", 13), 13);
    close(fd);
    cr_assert_eq(ax__fault_dump_read(path, &f), AX_EINVAL);
    unlink(path);
    errno = 0;
    cr_assert_eq(ax__fault_dump_read(path, &f), AX_EINVAL);
    cr_assert_eq(errno, ENOENT);
}

Test(fault, the_dump_path_follows_xdg_state_home_then_home)
{
    setenv("XDG_STATE_HOME", "/x/state", 1);
    cr_assert_eq(ax__fault_set_dump_path(NULL), 0);
    cr_assert_str_eq(ax__fault_dump_path(), "/x/state/ax/nonode.dump");
    setenv("XDG_STATE_HOME", "relative", 1); /* invalid: ignored */
    setenv("HOME", "/home/u", 1);
    cr_assert_eq(ax__fault_set_dump_path(NULL), 0);
    cr_assert_str_eq(ax__fault_dump_path(), "/home/u/.local/state/ax/"
                                            "nonode.dump");
    cr_assert_eq(ax__fault_set_dump_path("/elsewhere/n.dump"), 0);
    cr_assert_str_eq(ax__fault_dump_path(), "/elsewhere/n.dump");
    cr_assert_eq(ax__fault_set_dump_path(""), AX_EINVAL);
}
