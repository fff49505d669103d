/*
 * test_supervisor.c - supervisors (runtime/code/supervisor.c): each rule
 * of OTP's supervisor that ax follows, as a test: the strategies, the
 * restart types, intensity and escalation, shutdown order and timeouts,
 * the calls that manage children, simple_one_for_one, malformed specs
 * and the report hook.
 *
 * The workers are the modules tests/modules/sup_worker.c and
 * sup_stubborn.c, built at test time into a fresh directory per test. A
 * worker tells the test's root {started, Tag, Pid} from its init and
 * {terminated, Tag, Reason} from its terminate, so the root sees in what
 * order children start and stop. The root traps exits: a supervisor
 * that gives up must not take the test down with it.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mod_util.h"
#include "proc_util.h"

#define WAIT_MS 5000

/* A list or tuple of the terms given. */
#define L(...)                                                                 \
    ax_list_v(ax_heap(),                                                       \
              sizeof((ax_term_t[]){__VA_ARGS__}) / sizeof(ax_term_t),          \
              (ax_term_t[]){__VA_ARGS__})
#define T(...)                                                                 \
    ax_tuple_v(ax_heap(),                                                      \
               sizeof((ax_term_t[]){__VA_ARGS__}) / sizeof(ax_term_t),         \
               (ax_term_t[]){__VA_ARGS__})

static char dir[MOD_PATH_LEN]; /* where this test's modules are built */
static void (*test_body)(void);

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

static ax_term_t I(int64_t v)
{
    return ax_int(ax_heap(), v);
}

/* --- Building the workers ------------------------------------------------- */

/* Builds tests/modules/NAME.c into dir/NAME.so. */
static void build(const char *name)
{
    char src[MOD_PATH_LEN];
    char out[2 * MOD_PATH_LEN];

    snprintf(src, sizeof(src), "%s.c", name);
    snprintf(out, sizeof(out), "%s/%s.so", dir, name);
    mod_build(src, out);
}

static void setup(void)
{
    mod_dir_make(dir, "sup");
    build("sup_worker");
    build("sup_stubborn");
}

static void teardown(void)
{
    mod_dir_remove(dir);
}

TestSuite(supervisor, .init = setup, .fini = teardown);

static void root(ax_term_t arg)
{
    (void)arg;
    ax_trap_exit(true);
    CHECK(ax_module_add_path(dir) == 0);
    test_body();
    ax_supervisor_set_hook(NULL);
}

/* Runs body as the root process of a node of two schedulers. */
static void run(void (*body)(void))
{
    test_body = body;
    run_root(2, root, AX_NIL);
}

/* --- Specs ---------------------------------------------------------------- */

/* {sup_worker, [Root, Tag | Opts]} */
static ax_term_t worker(const char *tag, ax_term_t opts)
{
    ax_heap_t *h = ax_heap();

    return T(A("sup_worker"), ax_cons(h, ax_self(), ax_cons(h, A(tag), opts)));
}

static ax_term_t trapping(const char *tag)
{
    return worker(tag, L(A("trap")));
}

/* #{id => Id, start => Start} and the NULL-terminated key, value pairs
 * that follow. */
static ax_term_t spec(const char *id, ax_term_t start, ...)
{
    ax_term_t k[8] = {A("id"), A("start")};
    ax_term_t v[8] = {A(id), start};
    size_t n = 2;
    const char *key;
    va_list ap;

    va_start(ap, start);
    while (n < 8 && (key = va_arg(ap, const char *))) {
        k[n] = A(key);
        v[n++] = va_arg(ap, ax_term_t);
    }
    va_end(ap);
    return ax_map_from(ax_heap(), n, k, v);
}

static ax_term_t flags(const char *strategy, int64_t intensity, int64_t period)
{
    ax_term_t k[] = {A("strategy"), A("intensity"), A("period")};
    ax_term_t v[] = {A(strategy), I(intensity), I(period)};

    return ax_map_from(ax_heap(), 3, k, v);
}

static ax_term_t start_sup(ax_term_t fl, ax_term_t kids)
{
    ax_term_t pid = AX_NONE;
    ax_term_t why = AX_NONE;

    CHECK(ax_supervisor_start(AX_NONE, fl, kids, &pid, &why) == 0);
    CHECK(ax_is_pid(pid));
    return pid;
}

/* --- What the workers and the supervisor say ------------------------------ */

static bool is_event(ax_term_t m, void *arg)
{
    (void)arg;
    return ax_is_record(m, A("started"), 3) ||
           ax_is_record(m, A("terminated"), 3);
}

/* Whether the next started or terminated message is {kind, tag, X}; X
 * goes in *x (if not NULL). */
static bool got(const char *kind, const char *tag, ax_term_t *x)
{
    ax_term_t m;

    if (ax_receive_fn(is_event, NULL, WAIT_MS, &m))
        return false;
    if (x)
        *x = ax_tuple_get(m, 2);
    return ax_tuple_get(m, 0) == A(kind) && ax_tuple_get(m, 1) == A(tag);
}

/* Whether no started or terminated message comes within ms. */
static bool quiet(int64_t ms)
{
    ax_term_t m;

    return ax_receive_fn(is_event, NULL, ms, &m) == AX_ETIMEOUT;
}

/* Monitors pid: the reference to give down(). */
static ax_term_t watch(ax_term_t pid)
{
    ax_term_t ref = AX_NONE;

    CHECK(ax_monitor(pid, &ref) == 0);
    return ref;
}

/* Waits for the 'DOWN' of monitor ref on pid: pid's exit reason, or
 * AX_NONE after WAIT_MS. */
static ax_term_t down(ax_term_t ref, ax_term_t pid)
{
    ax_term_t m;
    ax_term_t b[AX_VARS_MAX];

    if (ax_receive(T(A("DOWN"), ref, A("process"), pid, AX_VAR(0)), WAIT_MS, &m,
                   b))
        return AX_NONE;
    return b[0];
}

/* Sends pid the exit signal reason: the reason it then exits with. */
static ax_term_t signal_exit(ax_term_t pid, ax_term_t reason)
{
    ax_term_t ref = watch(pid);

    CHECK(ax_exit_signal(pid, reason) == 0);
    return down(ref, pid);
}

/* Tells worker pid (tagged tag) to stop with reason: whether its
 * terminate said so and it exited so. Its supervisor has the 'EXIT' in
 * its mailbox by then (links are told before monitors). */
static bool crash(ax_term_t pid, const char *tag, ax_term_t reason)
{
    ax_term_t ref = watch(pid);
    ax_term_t r;

    CHECK(ax_cast(pid, T(A("exit"), reason)) == 0);
    return got("terminated", tag, &r) && ax_equal_exact(r, reason) &&
           ax_equal_exact(down(ref, pid), reason);
}

/* Stops sup as its parent does, and checks it exits shutdown. */
static void stop_sup(ax_term_t sup)
{
    CHECK(signal_exit(sup, A("shutdown")) == A("shutdown"));
}

/* Child id's entry of which_children, or AX_NONE. */
static ax_term_t entry(ax_term_t sup, ax_term_t id)
{
    ax_term_t l;

    CHECK(ax_supervisor_which_children(sup, &l) == 0);
    for (; ax_is_cons(l); l = ax_tail(l))
        if (ax_equal_exact(ax_tuple_get(ax_head(l), 0), id))
            return ax_head(l);
    return AX_NONE;
}

/* Child id's pid (or restarting, undefined) in which_children, or AX_NONE
 * if it has no entry. */
static ax_term_t child(ax_term_t sup, const char *id)
{
    ax_term_t e = entry(sup, A(id));

    return e == AX_NONE ? AX_NONE : ax_tuple_get(e, 1);
}

static int64_t count(ax_term_t sup, const char *key)
{
    ax_term_t counts;
    int64_t n = -1;

    CHECK(ax_supervisor_count_children(sup, &counts) == 0);
    ax_get_int(ax_map_get(counts, A(key)), &n);
    return n;
}

/* The hook sends reports to the root as {report, Event, Id, OldPid,
 * NewPid, Reason, Restarts} (AX_NONE as undefined). */
static _Atomic(ax_term_t) report_to;

static ax_term_t defined(ax_term_t t)
{
    return t == AX_NONE ? A("undefined") : t;
}

static void forward(const ax_sup_report_t *r)
{
    ax_term_t to = atomic_load(&report_to);

    if (to != AX_NONE)
        ax_send(to, T(A("report"), I(r->event), defined(r->child_id),
                      defined(r->child_pid), defined(r->new_pid),
                      defined(r->reason), I((int64_t)r->restarts)));
}

static void hook_reports(void)
{
    atomic_store(&report_to, ax_self());
    ax_supervisor_set_hook(forward);
}

/* Whether the next report is of event for child id; it goes in *r. */
static bool reported(ax_sup_event_t event, const char *id, ax_term_t *r)
{
    ax_term_t m;
    ax_term_t pat =
        T(A("report"), AX_ANY, AX_ANY, AX_ANY, AX_ANY, AX_ANY, AX_ANY);

    if (ax_receive(pat, WAIT_MS, &m, NULL))
        return false;
    if (r)
        *r = m;
    return ax_tuple_get(m, 1) == I(event) && ax_tuple_get(m, 2) == A(id);
}

static void wait_forever(ax_term_t arg)
{
    ax_term_t m;

    (void)arg;
    ax_receive(A("never_sent"), AX_INFINITY, &m, NULL);
}

/* Registers a process as sup_gate: sup_worker's gated init fails while
 * it lives. */
static ax_term_t close_gate(void)
{
    ax_spawn_opts_t o = {
        .body = wait_forever, .arg = AX_NIL, .name = A("sup_gate")};
    ax_term_t gate;

    CHECK(ax_spawn_opt(&o, &gate, NULL) == 0);
    return gate;
}

static void open_gate(ax_term_t gate)
{
    CHECK(signal_exit(gate, A("kill")) == A("killed"));
}

/* --- Strategies ----------------------------------------------------------- */

static void three(const char *strategy, ax_term_t *sup, ax_term_t pid[3])
{
    *sup =
        start_sup(flags(strategy, 10, 10), L(spec("a", trapping("a"), NULL),
                                             spec("b", trapping("b"), NULL),
                                             spec("c", trapping("c"), NULL)));
    CHECK(got("started", "a", &pid[0]));
    CHECK(got("started", "b", &pid[1]));
    CHECK(got("started", "c", &pid[2]));
}

static void one_for_one(void)
{
    ax_term_t sup;
    ax_term_t p[3];
    ax_term_t b2;

    three("one_for_one", &sup, p);
    CHECK(crash(p[1], "b", A("boom")));
    CHECK(got("started", "b", &b2));
    CHECK(b2 != p[1] && ax_is_pid(b2));
    CHECK(quiet(100));
    CHECK(child(sup, "a") == p[0] && child(sup, "b") == b2 &&
          child(sup, "c") == p[2]);
    stop_sup(sup);
}

Test(supervisor, one_for_one_restarts_only_the_dead_child)
{
    run(one_for_one);
}

static void one_for_all(void)
{
    ax_term_t sup;
    ax_term_t p[3];
    ax_term_t q[3];
    ax_term_t why;

    three("one_for_all", &sup, p);
    CHECK(crash(p[1], "b", A("boom")));
    /* The others stop newest first, then all start in order. */
    CHECK(got("terminated", "c", &why) && why == A("shutdown"));
    CHECK(got("terminated", "a", &why) && why == A("shutdown"));
    CHECK(got("started", "a", &q[0]));
    CHECK(got("started", "b", &q[1]));
    CHECK(got("started", "c", &q[2]));
    for (int i = 0; i < 3; i++)
        CHECK(q[i] != p[i] && !ax_is_alive(p[i]));
    CHECK(quiet(100));
    CHECK(child(sup, "a") == q[0] && child(sup, "c") == q[2]);
    stop_sup(sup);
}

Test(supervisor, one_for_all_restarts_every_child_in_order)
{
    run(one_for_all);
}

static void rest_for_one(void)
{
    ax_term_t sup = start_sup(
        flags("rest_for_one", 10, 10),
        L(spec("a", trapping("a"), NULL), spec("b", trapping("b"), NULL),
          spec("c", trapping("c"), NULL), spec("d", trapping("d"), NULL)));
    ax_term_t p[4];
    ax_term_t q[3];

    CHECK(got("started", "a", &p[0]) && got("started", "b", &p[1]));
    CHECK(got("started", "c", &p[2]) && got("started", "d", &p[3]));
    CHECK(crash(p[1], "b", A("boom")));
    CHECK(got("terminated", "d", NULL));
    CHECK(got("terminated", "c", NULL));
    CHECK(got("started", "b", &q[0]));
    CHECK(got("started", "c", &q[1]));
    CHECK(got("started", "d", &q[2]));
    CHECK(quiet(100));
    CHECK(child(sup, "a") == p[0] && ax_is_alive(p[0]));
    CHECK(child(sup, "d") == q[2] && q[2] != p[3]);
    stop_sup(sup);
}

Test(supervisor, rest_for_one_restarts_the_child_and_those_after_it)
{
    run(rest_for_one);
}

/* --- Restart types -------------------------------------------------------- */

/* Starts one child id of the given restart type under one_for_one. */
static ax_term_t one_child(const char *id, const char *restart, ax_term_t *pid)
{
    ax_term_t sup =
        start_sup(flags("one_for_one", 100, 10),
                  L(spec(id, worker(id, AX_NIL), "restart", A(restart), NULL)));

    CHECK(got("started", id, pid));
    return sup;
}

static void permanent(void)
{
    ax_term_t pid;
    ax_term_t sup = one_child("p", "permanent", &pid);
    ax_term_t reasons[] = {A("normal"), A("shutdown"), T(A("shutdown"), A("x")),
                           A("boom")};

    for (size_t i = 0; i < 4; i++) {
        ax_term_t next;

        CHECK(crash(pid, "p", reasons[i]));
        CHECK(got("started", "p", &next) && next != pid);
        pid = next;
    }
    CHECK(count(sup, "active") == 1);
    stop_sup(sup);
}

Test(supervisor, permanent_child_is_always_restarted)
{
    run(permanent);
}

static void transient(void)
{
    ax_term_t pid;
    ax_term_t sup = one_child("t", "transient", &pid);
    ax_term_t clean[] = {A("normal"), A("shutdown"), T(A("shutdown"), A("x"))};

    for (size_t i = 0; i < 3; i++) {
        CHECK(crash(pid, "t", clean[i]));
        CHECK(quiet(100));
        CHECK(child(sup, "t") == A("undefined"));
        CHECK(count(sup, "specs") == 1 && count(sup, "active") == 0);
        CHECK(ax_supervisor_restart_child(sup, A("t"), &pid) == 0);
        CHECK(got("started", "t", NULL));
    }
    CHECK(crash(pid, "t", A("boom")));
    CHECK(got("started", "t", NULL));
    stop_sup(sup);
}

Test(supervisor, transient_child_is_restarted_only_after_a_crash)
{
    run(transient);
}

static void temporary(void)
{
    ax_term_t reasons[] = {A("normal"), A("boom")};

    for (size_t i = 0; i < 2; i++) {
        ax_term_t pid;
        ax_term_t sup = one_child("m", "temporary", &pid);

        CHECK(crash(pid, "m", reasons[i]));
        CHECK(quiet(100));
        CHECK(child(sup, "m") == AX_NONE);
        CHECK(count(sup, "specs") == 0);
        stop_sup(sup);
    }
}

Test(supervisor, temporary_child_is_never_restarted_and_goes)
{
    run(temporary);
}

/* --- Intensity and escalation --------------------------------------------- */

static void intensity(void)
{
    ax_term_t sup = start_sup(flags("one_for_one", 2, 5),
                              L(spec("x", trapping("x"), NULL),
                                spec("w", worker("w", AX_NIL), NULL)));
    ax_term_t pid;
    ax_term_t r;
    ax_term_t ref;

    hook_reports();
    CHECK(got("started", "x", NULL) && got("started", "w", &pid));
    for (int i = 1; i <= 2; i++) {
        CHECK(crash(pid, "w", A("boom")));
        CHECK(got("started", "w", &pid));
        CHECK(reported(AX_SUP_RESTART, "w", &r));
        CHECK(ax_tuple_get(r, 6) == I(i));
    }
    ref = watch(sup);
    CHECK(crash(pid, "w", A("boom")));
    /* The third restart within the period is one too many. */
    CHECK(reported(AX_SUP_GIVE_UP, "w", &r));
    CHECK(ax_tuple_get(r, 3) == pid && ax_tuple_get(r, 5) == A("boom"));
    CHECK(got("terminated", "x", &r) && r == A("shutdown"));
    CHECK(down(ref, sup) == A("shutdown"));
}

Test(supervisor, more_than_intensity_restarts_make_it_give_up)
{
    run(intensity);
}

static void intensity_zero(void)
{
    ax_term_t pid;
    ax_term_t sup = start_sup(flags("one_for_one", 0, 5),
                              L(spec("w", worker("w", AX_NIL), NULL)));

    ax_term_t ref = watch(sup);

    CHECK(got("started", "w", &pid));
    CHECK(crash(pid, "w", A("boom")));
    CHECK(down(ref, sup) == A("shutdown"));
    CHECK(quiet(50));
}

Test(supervisor, intensity_zero_gives_up_at_the_first_crash)
{
    run(intensity_zero);
}

static void period(void)
{
    ax_term_t pid;
    ax_term_t sup = start_sup(flags("one_for_one", 1, 1),
                              L(spec("w", worker("w", AX_NIL), NULL)));

    CHECK(got("started", "w", &pid));
    for (int i = 0; i < 3; i++) {
        CHECK(crash(pid, "w", A("boom")));
        CHECK(got("started", "w", &pid));
        /* A restart counts for one period (1 s) only. */
        CHECK(quiet(1100));
    }
    CHECK(ax_is_alive(sup));
    stop_sup(sup);
}

Test(supervisor, restarts_older_than_the_period_do_not_count)
{
    run(period);
}

static void escalation(void)
{
    ax_term_t sub_flags = flags("one_for_one", 1, 5);
    ax_term_t top = start_sup(flags("one_for_one", 5, 5),
                              L(spec("sub",
                                     T(A("supervisor"), sub_flags,
                                       L(spec("w", worker("w", AX_NIL), NULL))),
                                     NULL)));
    ax_term_t sub = child(top, "sub");
    ax_term_t pid;
    ax_term_t sub2;

    ax_term_t ref = watch(sub);

    CHECK(got("started", "w", &pid));
    CHECK(crash(pid, "w", A("boom")));
    CHECK(got("started", "w", &pid));
    CHECK(crash(pid, "w", A("boom")));
    /* sub gives up; top restarts it, and with it w. */
    CHECK(down(ref, sub) == A("shutdown"));
    CHECK(got("started", "w", &pid));
    sub2 = child(top, "sub");
    CHECK(ax_is_pid(sub2) && sub2 != sub);
    CHECK(child(sub2, "w") == pid);
    stop_sup(top);
    CHECK(!ax_is_alive(sub2) && !ax_is_alive(pid));
}

Test(supervisor, a_supervisor_that_gives_up_is_restarted_by_its_own)
{
    run(escalation);
}

/* --- Shutdown ------------------------------------------------------------- */

static void shutdown_order(void)
{
    ax_term_t sup;
    ax_term_t p[3];
    ax_term_t why;
    ax_term_t ref;

    three("one_for_one", &sup, p);
    ref = watch(sup);
    CHECK(ax_exit_signal(sup, A("shutdown")) == 0);
    CHECK(got("terminated", "c", &why) && why == A("shutdown"));
    CHECK(got("terminated", "b", &why) && why == A("shutdown"));
    CHECK(got("terminated", "a", &why) && why == A("shutdown"));
    CHECK(down(ref, sup) == A("shutdown"));
}

Test(supervisor, children_stop_in_reverse_start_order)
{
    run(shutdown_order);
}

static void shutdown_timeout(void)
{
    ax_term_t sup =
        start_sup(flags("one_for_one", 1, 5),
                  L(spec("s", T(A("sup_stubborn"), L(ax_self(), A("s"))),
                         "shutdown", I(100), NULL)));
    ax_term_t pid;
    ax_term_t ref;
    ax_term_t m;
    ax_term_t b[AX_VARS_MAX];
    struct timespec t0;
    struct timespec t1;
    int64_t ms;

    hook_reports();
    CHECK(got("started", "s", &pid));
    CHECK(ax_monitor(pid, &ref) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(ax_supervisor_terminate_child(sup, A("s")) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(ms >= 99);
    CHECK(ax_receive(T(A("DOWN"), ref, A("process"), pid, AX_VAR(0)), 0, &m,
                     b) == 0);
    CHECK(b[0] == A("killed"));
    CHECK(reported(AX_SUP_SHUTDOWN_KILL, "s", &m));
    CHECK(ax_tuple_get(m, 3) == pid);
    CHECK(child(sup, "s") == A("undefined"));
    stop_sup(sup);
}

Test(supervisor, a_child_that_does_not_stop_in_time_is_killed)
{
    run(shutdown_timeout);
}

static void brutal_kill(void)
{
    ax_term_t sup = start_sup(
        flags("one_for_one", 1, 5),
        L(spec("k", trapping("k"), "shutdown", A("brutal_kill"), NULL)));
    ax_term_t pid;
    ax_term_t ref;
    ax_term_t m;
    ax_term_t b[AX_VARS_MAX];

    CHECK(got("started", "k", &pid));
    CHECK(ax_monitor(pid, &ref) == 0);
    CHECK(ax_supervisor_terminate_child(sup, A("k")) == 0);
    CHECK(ax_receive(T(A("DOWN"), ref, A("process"), pid, AX_VAR(0)), 0, &m,
                     b) == 0);
    CHECK(b[0] == A("killed"));
    CHECK(quiet(50)); /* killed: its terminate never ran */
    stop_sup(sup);
}

Test(supervisor, brutal_kill_kills_at_once)
{
    run(brutal_kill);
}

/* Calls terminate_child(Sup, s) and tells Root {done, Err}. */
static void terminator(ax_term_t arg)
{
    int err = ax_supervisor_terminate_child(ax_tuple_get(arg, 1), A("s"));

    ax_send(ax_tuple_get(arg, 0), T(A("done"), I(err)));
}

static void infinity(void)
{
    ax_term_t sup =
        start_sup(flags("one_for_one", 1, 5),
                  L(spec("s", T(A("sup_stubborn"), L(ax_self(), A("s"))),
                         "shutdown", A("infinity"), NULL),
                    spec("t", trapping("t"), "shutdown", A("infinity"), NULL)));
    ax_term_t pid;
    ax_term_t m;

    CHECK(got("started", "s", &pid) && got("started", "t", NULL));
    CHECK(ax_supervisor_terminate_child(sup, A("t")) == 0);
    CHECK(got("terminated", "t", &m) && m == A("shutdown"));
    CHECK(ax_spawn(terminator, T(ax_self(), sup), NULL) == 0);
    /* The supervisor waits for s however long it takes... */
    CHECK(ax_receive(T(A("done"), AX_ANY), 300, &m, NULL) == AX_ETIMEOUT);
    CHECK(ax_is_alive(pid));
    /* ... until it ends. */
    CHECK(ax_exit_signal(pid, A("kill")) == 0);
    CHECK(ax_receive(T(A("done"), AX_ANY), WAIT_MS, &m, NULL) == 0);
    CHECK(ax_tuple_get(m, 1) == I(0));
    stop_sup(sup);
}

Test(supervisor, shutdown_infinity_waits_for_the_child)
{
    run(infinity);
}

/* --- Managing children ---------------------------------------------------- */

static void which_and_count(void)
{
    ax_term_t nested = T(A("supervisor"), ax_map_new(ax_heap()), AX_NIL);
    ax_term_t sup = start_sup(
        flags("one_for_one", 1, 5),
        L(spec("a", worker("a", AX_NIL), NULL), spec("n", nested, NULL)));
    ax_term_t a;
    ax_term_t l;
    ax_term_t n;

    CHECK(got("started", "a", &a));
    CHECK(ax_supervisor_which_children(sup, &l) == 0);
    CHECK(ax_list_length(l) == 2);
    n = ax_tuple_get(ax_head(l), 1);
    CHECK(ax_is_pid(n));
    /* Newest first, as OTP. */
    CHECK(ax_equal_exact(l, L(T(A("n"), n, A("supervisor"), L(A("supervisor"))),
                              T(A("a"), a, A("worker"), L(A("sup_worker"))))));
    CHECK(count(sup, "specs") == 2 && count(sup, "active") == 2);
    CHECK(count(sup, "supervisors") == 1 && count(sup, "workers") == 1);
    CHECK(ax_supervisor_terminate_child(sup, A("a")) == 0);
    CHECK(child(sup, "a") == A("undefined"));
    CHECK(count(sup, "specs") == 2 && count(sup, "active") == 1);
    stop_sup(sup);
    CHECK(!ax_is_alive(n));
}

Test(supervisor, which_children_and_count_children)
{
    run(which_and_count);
}

static void start_child(void)
{
    ax_term_t sup = start_sup(flags("one_for_one", 1, 5), AX_NIL);
    ax_term_t d = spec("d", worker("d", AX_NIL), NULL);
    ax_term_t pid = AX_NONE;
    ax_term_t other = AX_NONE;

    CHECK(ax_supervisor_start_child(sup, d, &pid) == 0);
    CHECK(ax_is_pid(pid) && got("started", "d", NULL));
    CHECK(child(sup, "d") == pid);
    /* The same id again: {already_started, Pid}. */
    CHECK(ax_supervisor_start_child(sup, d, &other) == AX_EBADARG);
    CHECK(other == pid);
    CHECK(ax_supervisor_terminate_child(sup, A("d")) == 0);
    other = AX_NONE;
    CHECK(ax_supervisor_start_child(sup, d, &other) == AX_EBADARG);
    CHECK(other == AX_NONE); /* already_present */
    /* Failures leave nothing behind. */
    CHECK(ax_supervisor_start_child(
              sup, spec("e", worker("e", L(T(A("stop"), A("oops")))), NULL),
              &other) == AX_EEXITED);
    CHECK(ax_supervisor_start_child(
              sup, spec("f", T(A("no_such_module"), AX_NIL), NULL), &other) ==
          AX_EEXITED);
    CHECK(ax_supervisor_start_child(sup, spec("g", A("x"), NULL), &other) ==
          AX_EBADARG);
    CHECK(ax_supervisor_start_child(sup, A("not_a_spec"), &other) ==
          AX_EBADARG);
    CHECK(other == AX_NONE);
    CHECK(child(sup, "e") == AX_NONE && child(sup, "f") == AX_NONE);
    CHECK(count(sup, "specs") == 1);
    stop_sup(sup);
}

Test(supervisor, start_child_adds_and_starts_a_child)
{
    run(start_child);
}

static void start_child_ignore(void)
{
    ax_term_t sup = start_sup(flags("one_for_one", 1, 5), AX_NIL);
    ax_term_t pid = I(1);

    CHECK(ax_supervisor_start_child(
              sup, spec("p", worker("p", L(A("ignore"))), NULL), &pid) == 0);
    CHECK(pid == AX_NONE);
    CHECK(child(sup, "p") == A("undefined"));
    /* A temporary child that returns ignore is not kept. */
    pid = I(1);
    CHECK(ax_supervisor_start_child(sup,
                                    spec("m", worker("m", L(A("ignore"))),
                                         "restart", A("temporary"), NULL),
                                    &pid) == 0);
    CHECK(pid == AX_NONE);
    CHECK(child(sup, "m") == AX_NONE);
    CHECK(count(sup, "specs") == 1);
    stop_sup(sup);
}

Test(supervisor, a_child_whose_init_returns_ignore)
{
    run(start_child_ignore);
}

static void manage(void)
{
    ax_term_t sup = start_sup(flags("one_for_one", 1, 5),
                              L(spec("d", worker("d", AX_NIL), NULL)));
    ax_term_t pid;
    ax_term_t p2;
    ax_term_t keep = I(7);

    CHECK(got("started", "d", &pid));
    /* Running: restart_child and delete_child refuse. */
    CHECK(ax_supervisor_restart_child(sup, A("d"), &keep) == AX_EBADARG);
    CHECK(keep == I(7));
    CHECK(ax_supervisor_delete_child(sup, A("d")) == AX_EBADARG);
    CHECK(ax_supervisor_terminate_child(sup, A("d")) == 0);
    CHECK(!ax_is_alive(pid));
    CHECK(quiet(50)); /* not restarted */
    CHECK(ax_supervisor_restart_child(sup, A("d"), &p2) == 0);
    CHECK(got("started", "d", NULL) && ax_is_pid(p2) && p2 != pid);
    CHECK(child(sup, "d") == p2);
    CHECK(ax_supervisor_terminate_child(sup, A("d")) == 0);
    CHECK(ax_supervisor_delete_child(sup, A("d")) == 0);
    CHECK(child(sup, "d") == AX_NONE);
    /* Unknown ids: not_found. */
    CHECK(ax_supervisor_restart_child(sup, A("d"), &keep) == AX_EINVAL);
    CHECK(ax_supervisor_terminate_child(sup, A("d")) == AX_EINVAL);
    CHECK(ax_supervisor_delete_child(sup, A("d")) == AX_EINVAL);
    CHECK(keep == I(7));
    stop_sup(sup);
}

Test(supervisor, terminate_restart_and_delete_child)
{
    run(manage);
}

static void restart_child_fails(void)
{
    ax_term_t sup = start_sup(flags("one_for_one", 1, 5),
                              L(spec("g", worker("g", L(A("gated"))), NULL)));
    ax_term_t gate;
    ax_term_t keep = I(7);

    CHECK(got("started", "g", NULL));
    CHECK(ax_supervisor_terminate_child(sup, A("g")) == 0);
    gate = close_gate();
    CHECK(ax_supervisor_restart_child(sup, A("g"), &keep) == AX_EEXITED);
    CHECK(keep == I(7) && child(sup, "g") == A("undefined"));
    open_gate(gate);
    CHECK(ax_supervisor_restart_child(sup, A("g"), &keep) == 0);
    CHECK(got("started", "g", NULL));
    stop_sup(sup);
}

Test(supervisor, restart_child_that_fails_to_start)
{
    run(restart_child_fails);
}

/* --- simple_one_for_one --------------------------------------------------- */

static ax_term_t start_dynamic(const char *restart)
{
    ax_term_t tmpl = spec("t", T(A("sup_worker"), L(ax_self())), "restart",
                          A(restart), NULL);

    return start_sup(flags("simple_one_for_one", 1000, 5), L(tmpl));
}

/* start_child(sup, [Tag | Opts]): the new child's pid. */
static ax_term_t add(ax_term_t sup, const char *tag, ax_term_t opts)
{
    ax_term_t pid = AX_NONE;
    ax_term_t p2;

    CHECK(ax_supervisor_start_child(sup, ax_cons(ax_heap(), A(tag), opts),
                                    &pid) == 0);
    CHECK(got("started", tag, &p2) && p2 == pid);
    return pid;
}

static void dynamic(void)
{
    ax_term_t sup = start_dynamic("permanent");
    ax_term_t a = add(sup, "a", AX_NIL);
    ax_term_t b = add(sup, "b", AX_NIL);
    ax_term_t l;
    ax_term_t a2;
    ax_term_t keep = I(7);

    CHECK(count(sup, "specs") == 1 && count(sup, "active") == 2);
    CHECK(count(sup, "workers") == 2 && count(sup, "supervisors") == 0);
    CHECK(ax_supervisor_which_children(sup, &l) == 0);
    CHECK(ax_list_length(l) == 2);
    for (; ax_is_cons(l); l = ax_tail(l))
        CHECK(ax_tuple_get(ax_head(l), 0) == A("undefined"));
    /* A crashed child comes back with the same arguments. */
    CHECK(crash(a, "a", A("boom")));
    CHECK(got("started", "a", &a2) && a2 != a);
    /* Children go by pid. */
    CHECK(ax_supervisor_terminate_child(sup, b) == 0);
    CHECK(!ax_is_alive(b) && count(sup, "active") == 1);
    CHECK(ax_supervisor_terminate_child(sup, b) == 0); /* dead: ok */
    CHECK(ax_supervisor_terminate_child(sup, ax_self()) == AX_EINVAL);
    CHECK(ax_supervisor_terminate_child(sup, A("t")) == AX_ENOTSUP);
    CHECK(ax_supervisor_restart_child(sup, a2, &keep) == AX_ENOTSUP);
    CHECK(ax_supervisor_delete_child(sup, a2) == AX_ENOTSUP);
    CHECK(ax_supervisor_start_child(sup, A("not_a_list"), &keep) == AX_EBADARG);
    CHECK(keep == I(7));
    stop_sup(sup);
    CHECK(!ax_is_alive(a2));
}

Test(supervisor, simple_one_for_one_starts_and_stops_by_pid)
{
    run(dynamic);
}

static void dynamic_types(void)
{
    ax_term_t sup = start_dynamic("temporary");
    ax_term_t a = add(sup, "a", AX_NIL);
    ax_term_t pid = I(1);

    CHECK(crash(a, "a", A("boom")));
    CHECK(quiet(100));
    CHECK(count(sup, "active") == 0 && count(sup, "workers") == 0);
    CHECK(ax_supervisor_start_child(sup, L(A("i"), A("ignore")), &pid) == 0);
    CHECK(pid == AX_NONE && count(sup, "workers") == 0);
    stop_sup(sup);
}

Test(supervisor, simple_one_for_one_temporary_and_ignore)
{
    run(dynamic_types);
}

#define MANY 300

static void dynamic_many(void)
{
    ax_term_t sup = start_dynamic("permanent");
    ax_term_t pids[MANY];
    char tag[16];
    ax_term_t why;
    ax_term_t ref;
    int n = 0;

    for (int i = 0; i < MANY; i++) {
        snprintf(tag, sizeof(tag), "c%d", i);
        pids[i] = add(sup, tag, L(A("trap")));
    }
    for (int i = 0; i < MANY; i += 3) {
        snprintf(tag, sizeof(tag), "c%d", i);
        CHECK(crash(pids[i], tag, A("boom")) && got("started", tag, NULL));
    }
    for (int i = 1; i < MANY; i += 3) {
        snprintf(tag, sizeof(tag), "c%d", i);
        CHECK(ax_supervisor_terminate_child(sup, pids[i]) == 0);
        CHECK(got("terminated", tag, &why) && why == A("shutdown"));
    }
    CHECK(count(sup, "active") == MANY - MANY / 3);
    /* Stopping the supervisor stops them all at once. */
    ref = watch(sup);
    CHECK(ax_exit_signal(sup, A("shutdown")) == 0);
    while (ax_receive(T(A("terminated"), AX_ANY, A("shutdown")), WAIT_MS, &why,
                      NULL) == 0)
        if (++n == MANY - MANY / 3)
            break;
    CHECK(n == MANY - MANY / 3);
    CHECK(down(ref, sup) == A("shutdown"));
}

Test(supervisor, simple_one_for_one_with_many_children)
{
    run(dynamic_many);
}

/* --- Malformed flags and specs -------------------------------------------- */

/* Whether starting with fl and kids fails with AX_EBADARG and reason
 * =:= want, having started nothing. */
static bool refused(ax_term_t fl, ax_term_t kids, ax_term_t want)
{
    ax_term_t pid = AX_NONE;
    ax_term_t why = AX_NONE;

    return ax_supervisor_start(AX_NONE, fl, kids, &pid, &why) == AX_EBADARG &&
           pid == AX_NONE && ax_equal_exact(why, want) && quiet(0);
}

static ax_term_t bad_spec(ax_term_t spec_term, ax_term_t what)
{
    return T(A("bad_child_spec"), spec_term, what);
}

static void malformed_flags(void)
{
    ax_term_t ok = flags("one_for_one", 1, 5);
    ax_term_t k[] = {A("strategy")};
    ax_term_t v[] = {A("one_for_some")};

    CHECK(refused(
        A("one_for_one"), AX_NIL,
        T(A("supervisor_data"), T(A("invalid_type"), A("one_for_one")))));
    CHECK(refused(
        ax_map_from(ax_heap(), 1, k, v), AX_NIL,
        T(A("supervisor_data"), T(A("invalid_strategy"), A("one_for_some")))));
    CHECK(refused(flags("one_for_one", -1, 5), AX_NIL,
                  T(A("supervisor_data"), T(A("invalid_intensity"), I(-1)))));
    CHECK(refused(flags("one_for_one", 1, 0), AX_NIL,
                  T(A("supervisor_data"), T(A("invalid_period"), I(0)))));
    CHECK(refused(ok, A("x"), T(A("bad_start_spec"), A("x"))));
    /* simple_one_for_one takes exactly one spec. */
    CHECK(refused(flags("simple_one_for_one", 1, 5), AX_NIL,
                  T(A("bad_start_spec"), AX_NIL)));
}

Test(supervisor, malformed_flags_are_refused)
{
    run(malformed_flags);
}

static void malformed_specs(void)
{
    ax_term_t ok = flags("one_for_one", 1, 5);
    ax_term_t w = worker("w", AX_NIL);
    ax_term_t k[] = {A("id")};
    ax_term_t v[] = {A("a")};
    ax_term_t no_start = ax_map_from(ax_heap(), 1, k, v);
    ax_term_t kk[] = {A("start")};
    ax_term_t no_id = ax_map_from(ax_heap(), 1, kk, &w);
    ax_term_t s;

    CHECK(refused(ok, L(I(42)),
                  bad_spec(I(42), T(A("invalid_child_spec"), I(42)))));
    CHECK(refused(ok, L(no_id), bad_spec(no_id, A("missing_id"))));
    CHECK(refused(ok, L(no_start), bad_spec(no_start, A("missing_start"))));
    s = spec("a", A("x"), NULL);
    CHECK(refused(ok, L(s), bad_spec(s, T(A("invalid_mfa"), A("x")))));
    s = spec("a", w, "restart", A("sometimes"), NULL);
    CHECK(refused(ok, L(s),
                  bad_spec(s, T(A("invalid_restart_type"), A("sometimes")))));
    s = spec("a", w, "shutdown", I(-1), NULL);
    CHECK(refused(ok, L(s), bad_spec(s, T(A("invalid_shutdown"), I(-1)))));
    s = spec("a", w, "type", A("boss"), NULL);
    CHECK(
        refused(ok, L(s), bad_spec(s, T(A("invalid_child_type"), A("boss")))));
    s = spec("a", w, "name", I(1), NULL);
    CHECK(refused(ok, L(s), bad_spec(s, T(A("invalid_name"), I(1)))));
    s = spec("a", w, NULL);
    CHECK(refused(ok, L(s, s),
                  bad_spec(s, T(A("duplicate_child_name"), A("a")))));
    /* A nested supervisor's spec is checked too. */
    s = spec("n", T(A("supervisor"), A("bad_flags"), AX_NIL), NULL);
    CHECK(refused(ok, L(s),
                  bad_spec(s, T(A("supervisor_data"),
                                T(A("invalid_type"), A("bad_flags"))))));
    /* simple_one_for_one appends to its template's argument list. */
    s = spec("t", T(A("sup_worker"), A("not_a_list")), NULL);
    CHECK(refused(flags("simple_one_for_one", 1, 5), L(s),
                  bad_spec(s, T(A("invalid_mfa"), ax_map_get(s, A("start"))))));
}

Test(supervisor, malformed_child_specs_are_refused)
{
    run(malformed_specs);
}

/* --- Starting and its failures -------------------------------------------- */

static void start_failure(void)
{
    ax_term_t pid = AX_NONE;
    ax_term_t why = AX_NONE;
    ax_term_t a;
    int err = ax_supervisor_start(
        AX_NONE, flags("one_for_one", 1, 5),
        L(spec("a", trapping("a"), NULL),
          spec("b", worker("b", L(T(A("stop"), A("bad")))), NULL),
          spec("c", worker("c", AX_NIL), NULL)),
        &pid, &why);

    CHECK(err == AX_EEXITED && pid == AX_NONE);
    CHECK(ax_equal_exact(why, T(A("shutdown"), T(A("failed_to_start_child"),
                                                 A("b"), A("bad")))));
    /* a was started, then stopped; c never started. */
    CHECK(got("started", "a", &a));
    CHECK(got("terminated", "a", &why) && why == A("shutdown"));
    CHECK(quiet(100));
    CHECK(!ax_is_alive(a));
}

Test(supervisor, a_child_that_fails_to_start_fails_the_start)
{
    run(start_failure);
}

static void named(void)
{
    ax_term_t pid;
    ax_term_t other = AX_NONE;
    ax_term_t why;
    ax_term_t l;

    CHECK(ax_supervisor_start(A("named_sup"), flags("one_for_one", 1, 5),
                              L(spec("a", worker("a", AX_NIL), "name",
                                     A("named_worker"), NULL)),
                              &pid, &why) == 0);
    CHECK(ax_whereis(A("named_sup")) == pid);
    CHECK(got("started", "a", &other));
    CHECK(ax_whereis(A("named_worker")) == other);
    CHECK(ax_supervisor_which_children(A("named_sup"), &l) == 0);
    CHECK(ax_list_length(l) == 1);
    other = AX_NONE;
    CHECK(ax_supervisor_start(A("named_sup"), flags("one_for_one", 1, 5),
                              AX_NIL, &other, &why) == AX_EBADARG);
    CHECK(other == AX_NONE);
    CHECK(ax_equal_exact(why, T(A("already_started"), pid)));
    stop_sup(pid);
    CHECK(ax_whereis(A("named_sup")) == AX_NONE);
    CHECK(ax_supervisor_which_children(pid, &l) == AX_ENOPROC);
}

Test(supervisor, registered_names)
{
    run(named);
}

/* Starts a supervisor with one trapping child, tells Root its pid, and
 * waits. */
static void parent_body(ax_term_t root_pid)
{
    ax_term_t sup = start_sup(
        flags("one_for_one", 1, 5),
        L(spec("a", T(A("sup_worker"), L(root_pid, A("a"), A("trap"))), NULL)));

    ax_send(root_pid, T(A("sup"), sup));
    wait_forever(AX_NIL);
}

static void parent_exit(void)
{
    ax_term_t parent;
    ax_term_t m;
    ax_term_t b[AX_VARS_MAX];
    ax_term_t sup;
    ax_term_t why;

    CHECK(ax_spawn(parent_body, ax_self(), &parent) == 0);
    CHECK(ax_receive(T(A("sup"), AX_VAR(0)), WAIT_MS, &m, b) == 0);
    sup = b[0];
    CHECK(got("started", "a", NULL));
    CHECK(ax_monitor(sup, &m) == 0);
    CHECK(ax_exit_signal(parent, A("goodbye")) == 0);
    /* It stops its children, then exits with its parent's reason. */
    CHECK(got("terminated", "a", &why) && why == A("shutdown"));
    CHECK(ax_receive(T(A("DOWN"), m, A("process"), sup, AX_VAR(0)), WAIT_MS, &m,
                     b) == 0);
    CHECK(b[0] == A("goodbye"));
}

Test(supervisor, the_parent_exiting_stops_the_supervisor)
{
    run(parent_exit);
}

/* From a thread: no parent; a bad spec's reason cannot come back. */
Test(supervisor, started_from_a_thread)
{
    ax_heap_t *h = ax_heap_new();
    ax_term_t k[] = {A("id"), A("start")};
    ax_term_t v[] = {A("n"),
                     ax_tuple(h, 3, A("supervisor"), ax_map_new(h), AX_NIL)};
    ax_term_t kids = ax_cons(h, ax_map_from(h, 2, k, v), AX_NIL);
    ax_term_t pid = AX_NONE;
    ax_term_t why = I(0);

    cr_assert_eq(ax_node_start(NULL), 0);
    cr_assert_eq(
        ax_supervisor_start(A("thread_sup"), ax_map_new(h), kids, &pid, &why),
        0);
    cr_assert(ax_is_pid(pid) && ax_whereis(A("thread_sup")) == pid);
    cr_assert_eq(ax_supervisor_start(AX_NONE, A("bad"), kids, &pid, &why),
                 AX_EBADARG);
    cr_assert_eq(why, AX_NONE);
    cr_assert_eq(ax_node_stop(), 0);
    ax_heap_free(h);
}

/* --- Restarts that fail, reports, the heap -------------------------------- */

static void retried(void)
{
    ax_term_t sup = start_sup(flags("one_for_one", 1000000, 5),
                              L(spec("g", worker("g", L(A("gated"))), NULL)));
    ax_term_t pid;
    ax_term_t gate;
    ax_term_t r;

    CHECK(got("started", "g", &pid));
    hook_reports();
    gate = close_gate();
    CHECK(crash(pid, "g", A("boom")));
    CHECK(reported(AX_SUP_START_ERROR, "g", &r));
    CHECK(ax_tuple_get(r, 5) == A("gated"));
    /* Tried again, and again, until it starts. */
    open_gate(gate);
    CHECK(got("started", "g", &pid));
    CHECK(child(sup, "g") == pid);
    stop_sup(sup);
}

Test(supervisor, a_failed_restart_is_tried_again)
{
    run(retried);
}

static void retries_give_up(void)
{
    ax_term_t sup = start_sup(flags("one_for_one", 3, 5),
                              L(spec("g", worker("g", L(A("gated"))), NULL)));
    ax_term_t pid;

    ax_term_t ref = watch(sup);

    CHECK(got("started", "g", &pid));
    hook_reports();
    close_gate();
    CHECK(crash(pid, "g", A("boom")));
    /* Each try counts as a restart. */
    for (int i = 0; i < 3; i++)
        CHECK(reported(AX_SUP_START_ERROR, "g", NULL));
    CHECK(reported(AX_SUP_GIVE_UP, "g", NULL));
    CHECK(down(ref, sup) == A("shutdown"));
}

Test(supervisor, failed_restarts_count_towards_intensity)
{
    run(retries_give_up);
}

static void restart_report(void)
{
    ax_term_t sup = start_sup(flags("one_for_one", 5, 5),
                              L(spec("w", worker("w", AX_NIL), NULL)));
    ax_term_t pid;
    ax_term_t p2;
    ax_term_t r;

    hook_reports();
    CHECK(got("started", "w", &pid));
    CHECK(crash(pid, "w", T(A("bad"), I(1))));
    CHECK(got("started", "w", &p2));
    CHECK(reported(AX_SUP_RESTART, "w", &r));
    CHECK(ax_equal_exact(r, T(A("report"), I(AX_SUP_RESTART), A("w"), pid, p2,
                              T(A("bad"), I(1)), I(1))));
    stop_sup(sup);
}

Test(supervisor, the_hook_hears_of_each_restart)
{
    run(restart_report);
}

#define RESTARTS 3000

static void many_restarts(void)
{
    ax_term_t sup = start_sup(flags("one_for_one", 1000000, 60),
                              L(spec("w", worker("w", AX_NIL), NULL)));
    ax_term_t pid;
    ax_process_info_t info;

    CHECK(got("started", "w", &pid));
    for (int i = 0; i < RESTARTS; i++) {
        CHECK(crash(pid, "w", A("boom")));
        CHECK(got("started", "w", &pid));
    }
    CHECK(child(sup, "w") == pid);
    CHECK(ax_process_info(sup, NULL, &info) == 0);
    /* Collected as it goes: its heap does not hold every message. */
    CHECK(info.heap.heap_size + info.heap.old_heap_size < 64 * 1024);
    stop_sup(sup);
}

Test(supervisor, many_restarts_keep_the_heap_small)
{
    run(many_restarts);
}

/* --- gen_server's system requests --------------------------------------- */

static void sys_requests(void)
{
    ax_term_t sup;
    ax_term_t p[3];
    ax_term_t st;
    ax_term_t ref;

    three("rest_for_one", &sup, p);
    CHECK(ax_get_state(sup, WAIT_MS, &st) == 0);
    CHECK(ax_map_get(st, A("strategy")) == A("rest_for_one"));
    CHECK(ax_map_get(st, A("intensity")) == I(10));
    CHECK(ax_map_get(st, A("period")) == I(10));
    CHECK(ax_map_get(st, A("restarts")) == I(0));
    CHECK(ax_map_get(st, A("recent")) == I(0));
    CHECK(ax_list_length(ax_map_get(st, A("children"))) == 3);
    /* ax_gen_stop stops the children, newest first, then the supervisor
     * with the reason given. */
    ref = watch(sup);
    CHECK(ax_gen_stop(sup, A("normal"), WAIT_MS) == 0);
    CHECK(got("terminated", "c", NULL) && got("terminated", "b", NULL) &&
          got("terminated", "a", NULL));
    CHECK(down(ref, sup) == A("normal"));
}

Test(supervisor, get_state_and_gen_stop)
{
    run(sys_requests);
}
