/*
 * test_gen.c - gen_server: start (ok, ignore, stop, crash, name taken),
 * call (reply, deferred reply, timeout with the late reply dropped, a dead
 * or dying server, a server calling a server), cast, info, terminate
 * when the parent exits and the server traps exits, timeouts, hibernate,
 * get_state and replace_state, stop; and hot code loading under load:
 * a stream of messages through a module reloaded ten times, none lost,
 * state migrated by code_change, and purge killing exactly the processes
 * left in old code.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mod_util.h"
#include "proc_util.h"

static char dir[MOD_PATH_LEN];

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

static ax_term_t I(int64_t v)
{
    return ax_int(ax_heap(), v);
}

/* Compiles tests/modules/SRC.c into dir/OUT.so. */
static void build(const char *src, const char *out)
{
    char in[MOD_PATH_LEN];
    char so[2 * MOD_PATH_LEN];

    snprintf(in, sizeof(in), "%s.c", src);
    snprintf(so, sizeof(so), "%s/%s.so", dir, out);
    mod_build(in, so);
}

/* Installs dir/FROM.so as dir/TO.so, as a rebuild would (a new file). */
static bool install(const char *from, const char *to)
{
    char a[2 * MOD_PATH_LEN];
    char b[2 * MOD_PATH_LEN];
    char tmp[2 * MOD_PATH_LEN];
    char cmd[10 * MOD_PATH_LEN];

    snprintf(a, sizeof(a), "%s/%s.so", dir, from);
    snprintf(b, sizeof(b), "%s/%s.so", dir, to);
    snprintf(tmp, sizeof(tmp), "%s/.tmp.so", dir);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && mv '%s' '%s'", a, tmp, tmp,
             b);
    return system(cmd) == 0;
}

static void setup(void)
{
    mod_dir_make(dir, "gen");
    build("gen_srv", "gen_srv");
    build("gen_upg_v1", "upg1");
    build("gen_upg_v2", "upg2");
    cr_assert(install("upg1", "gen_upg"));
    cr_assert_eq(ax_module_add_path(dir), 0);
}

static void teardown(void)
{
    mod_dir_remove(dir);
}

TestSuite(gen, .init = setup, .fini = teardown, .timeout = 60);

static ax_term_t start(ax_term_t args)
{
    ax_term_t pid;

    CHECK(ax_gen_start(A("gen_srv"), args, NULL, &pid, NULL) == 0);
    return pid;
}

/* --- Starting ---------------------------------------------------------------- */

static void starting(ax_term_t arg)
{
    ax_gen_opts_t named = {.name = A("srv1")};
    ax_term_t pid;
    ax_term_t reason = AX_NIL;

    (void)arg;
    CHECK(ax_gen_start(A("gen_srv"), AX_NIL, &named, &pid, NULL) == 0);
    CHECK(ax_whereis(A("srv1")) == pid);
    CHECK(ax_gen_start(A("gen_srv"), AX_NIL, &named, &pid, NULL) ==
          AX_EBADARG);
    CHECK(ax_gen_start(A("gen_srv"), A("ignore"), NULL, &pid, NULL) == 0);
    CHECK(pid == AX_NONE);
    CHECK(ax_gen_start(A("gen_srv"), A("fail"), NULL, &pid, &reason) ==
          AX_EEXITED);
    CHECK(reason == A("init_failed"));
    CHECK(ax_gen_start(A("gen_srv"), A("crash"), NULL, &pid, &reason) ==
          AX_EEXITED);
    CHECK(reason == A("init_crashed"));
    CHECK(ax_gen_start(A("no_such_module"), AX_NIL, NULL, &pid, NULL) ==
          AX_ENOMODULE);
}

Test(gen, start_ok_ignore_stop_crash_and_names)
{
    run_root(2, starting, AX_NIL);
}

/* --- Calls ------------------------------------------------------------------------ */

static void calls(ax_term_t arg)
{
    ax_term_t s = start(AX_NIL);
    ax_term_t r;
    ax_term_t m;

    (void)arg;
    ax_cast(s, A("inc"));
    ax_cast(s, A("inc"));
    CHECK(ax_call(s, A("get"), AX_CALL_TIMEOUT, &r) == 0 && r == I(2));
    /* A bad return value ends the server with that reason. */
    CHECK(ax_call(s, A("what"), AX_CALL_TIMEOUT, &r) == AX_EEXITED);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 2, A("bad_return_value"),
                                     A("not_a_valid_return"))));
    CHECK(ax_call(s, A("get"), 100, &r) == AX_ENOPROC);
    /* A crash during the call reaches the caller as its reason. */
    s = start(AX_NIL);
    CHECK(ax_call(s, A("crash"), AX_CALL_TIMEOUT, &r) == AX_EEXITED);
    CHECK(r == A("crashed_in_call"));
    /* {stop, Reason, Reply, State} replies, then stops. */
    s = start(AX_NIL);
    CHECK(ax_call(s, A("stop"), AX_CALL_TIMEOUT, &r) == 0 &&
          r == A("stopped"));
    CHECK(ax_call(A("nobody_here"), A("get"), 100, &r) == AX_ENOPROC);
    /* Nothing of the calls is left in the mailbox. */
    CHECK(ax_receive(AX_ANY, 50, &m, NULL) == AX_ETIMEOUT);
}

Test(gen, call_reply_crash_stop_noproc)
{
    run_root(2, calls, AX_NIL);
}

static void deferred_caller(ax_term_t s)
{
    ax_term_t r;

    CHECK(ax_call(s, A("defer"), AX_CALL_TIMEOUT, &r) == 0);
    CHECK(r == A("released"));
}

static void deferred(ax_term_t arg)
{
    ax_term_t s = start(AX_NIL);
    ax_term_t c;
    ax_term_t ref;
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;

    (void)arg;
    CHECK(ax_spawn_monitor(deferred_caller, s, &c, &ref) == 0);
    CHECK(ax_sleep(20) == 0); /* the caller waits for its reply */
    ax_cast(s, A("release"));
    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), ref, AX_ANY, AX_ANY,
                              AX_VAR(0)),
                     5000, &m, b) == 0);
    CHECK(b[0] == A("normal"));
}

Test(gen, deferred_reply_with_ax_reply)
{
    run_root(2, deferred, AX_NIL);
}

static void timeouts(ax_term_t arg)
{
    ax_term_t s = start(AX_NIL);
    ax_term_t r;
    ax_term_t m;

    (void)arg;
    CHECK(ax_call(s, ax_tuple(ax_heap(), 2, A("sleep"), I(200)), 20, &r) ==
          AX_ETIMEOUT);
    /* The late reply arrives and is dropped, never seen here. */
    CHECK(ax_call(s, A("get"), AX_CALL_TIMEOUT, &r) == 0 && r == I(0));
    CHECK(ax_receive(AX_ANY, 100, &m, NULL) == AX_ETIMEOUT);
}

Test(gen, late_reply_never_lands_after_a_timeout)
{
    run_root(2, timeouts, AX_NIL);
}

static void nested(ax_term_t arg)
{
    ax_term_t a = start(AX_NIL);
    ax_term_t b = start(AX_NIL);
    ax_term_t r;

    (void)arg;
    ax_cast(b, A("inc"));
    /* a calls b from inside its handle_call: it just blocks. */
    CHECK(ax_call(a, ax_tuple(ax_heap(), 3, A("call"), b, A("get")),
                  AX_CALL_TIMEOUT, &r) == 0);
    CHECK(r == I(1));
}

Test(gen, a_server_calls_a_server_from_a_callback)
{
    run_root(2, nested, AX_NIL);
}

/* --- Info, terminate, timeouts, hibernate, sys --------------------------------- */

static void watcher_setup(void)
{
    CHECK(ax_register(A("gen_watcher"), ax_self()) == 0);
}

static void infos(ax_term_t arg)
{
    ax_term_t s = start(AX_NIL);
    ax_term_t r;
    ax_term_t m;

    (void)arg;
    watcher_setup();
    ax_send(s, A("hello"));
    CHECK(ax_receive(AX_ANY, 5000, &m, NULL) == 0);
    CHECK(ax_equal_exact(m, ax_tuple(ax_heap(), 2, A("info"), A("hello"))));
    /* {reply, ok, S, 30}: a timeout info follows when nothing comes. */
    CHECK(ax_call(s, ax_tuple(ax_heap(), 2, A("timeout_in"), I(30)),
                  AX_CALL_TIMEOUT, &r) == 0);
    CHECK(ax_receive(AX_ANY, 5000, &m, NULL) == 0);
    CHECK(ax_equal_exact(m, ax_tuple(ax_heap(), 2, A("info"),
                                     A("timeout"))));
    /* ...but not when a message came first. */
    CHECK(ax_call(s, ax_tuple(ax_heap(), 2, A("timeout_in"), I(30)),
                  AX_CALL_TIMEOUT, &r) == 0);
    ax_cast(s, A("inc"));
    CHECK(ax_receive(AX_ANY, 100, &m, NULL) == AX_ETIMEOUT);
    CHECK(ax_call(s, A("hibernate"), AX_CALL_TIMEOUT, &r) == 0);
    CHECK(ax_call(s, A("get"), AX_CALL_TIMEOUT, &r) == 0 && r == I(1));
}

Test(gen, info_messages_timeouts_and_hibernate)
{
    run_root(2, infos, AX_NIL);
}

static void trapping_child(ax_term_t parent)
{
    ax_gen_opts_t o = {.flags = AX_GEN_LINK};
    ax_term_t s;
    ax_term_t m;

    CHECK(ax_gen_start(A("gen_srv"), A("trap"), &o, &s, NULL) == 0);
    ax_send(parent, ax_tuple(ax_heap(), 2, A("server"), s));
    ax_receive(A("never"), AX_INFINITY, &m, NULL);
}

static void terminate_on_parent_exit(ax_term_t arg)
{
    ax_term_t c;
    ax_term_t m;

    (void)arg;
    watcher_setup();
    CHECK(ax_spawn(trapping_child, ax_self(), &c) == 0);
    CHECK(ax_receive(AX_ANY, 5000, &m, NULL) == 0);
    ax_exit_signal(c, A("shutdown"));
    CHECK(ax_receive(AX_ANY, 5000, &m, NULL) == 0);
    CHECK(ax_equal_exact(m, ax_tuple(ax_heap(), 2, A("terminated"),
                                     A("shutdown"))));
}

Test(gen, terminate_runs_when_the_parent_exits_and_it_traps_exits)
{
    run_root(2, terminate_on_parent_exit, AX_NIL);
}

static ax_term_t add_ten(ax_term_t state, void *arg)
{
    (void)arg;
    return ax_tuple(ax_heap(), 2, ax_int(ax_heap(), 10),
                    ax_tuple_get(state, 1));
}

static void sys(ax_term_t arg)
{
    ax_term_t s = start(AX_NIL);
    ax_term_t st;
    ax_term_t r;
    ax_term_t m;

    (void)arg;
    watcher_setup();
    CHECK(ax_get_state(s, AX_CALL_TIMEOUT, &st) == 0);
    CHECK(ax_equal_exact(st, ax_tuple(ax_heap(), 2, I(0), AX_NIL)));
    CHECK(ax_replace_state(s, add_ten, NULL, AX_CALL_TIMEOUT, &st) == 0);
    CHECK(ax_call(s, A("get"), AX_CALL_TIMEOUT, &r) == 0 && r == I(10));
    CHECK(ax_gen_stop(s, A("bye"), AX_CALL_TIMEOUT) == 0);
    CHECK(!ax_is_alive(s));
    CHECK(ax_receive(AX_ANY, 5000, &m, NULL) == 0);
    CHECK(ax_equal_exact(m, ax_tuple(ax_heap(), 2, A("terminated"),
                                     A("bye"))));
}

Test(gen, get_state_replace_state_and_stop)
{
    run_root(2, sys, AX_NIL);
}

/* --- Hot code loading ----------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define STREAM 300000
#define RELOADS 10

static void producer(ax_term_t s)
{
    for (int64_t i = 0; i < STREAM; i++) {
        ax_cast(s, ax_tuple(ax_heap(), 2, A("seq"), ax_int(ax_heap(), i)));
        if (i % 4096 == 0)
            ax_gc(&s, 1);
    }
    ax_send(ax_whereis(A("gen_watcher")), A("produced"));
}

static void reload_under_load(ax_term_t arg)
{
    ax_term_t s;
    ax_term_t r;
    ax_term_t m;
    ax_term_t ref;
    uint64_t t0;
    double secs;

    (void)arg;
    watcher_setup();
    CHECK(ax_gen_start(A("gen_upg"), AX_NIL, NULL, &s, NULL) == 0);
    CHECK(ax_monitor(s, &ref) == 0);
    t0 = now_ms();
    CHECK(ax_spawn(producer, s, NULL) == 0);
    for (int i = 0; i < RELOADS; i++) {
        CHECK(install(i % 2 ? "upg1" : "upg2", "gen_upg"));
        CHECK(ax_module_load("gen_upg", NULL, NULL) == 0);
        CHECK(ax_call(s, A("get"), AX_CALL_TIMEOUT, &r) == 0);
    }
    CHECK(ax_receive(A("produced"), 60000, &m, NULL) == 0);
    secs = (double)(now_ms() - t0) / 1000.0;
    /* The last load was version 1 (i = 9): the state is a plain count,
     * and every message was handled exactly once (else it crashed). */
    CHECK(ax_call(s, A("get"), AX_CALL_TIMEOUT, &r) == 0);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 2, A("v1"), I(STREAM))));
    CHECK(STREAM / secs > 100000); /* the stream kept flowing */
    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), ref, AX_ANY, AX_ANY,
                              AX_ANY),
                     0, &m, NULL) == AX_ETIMEOUT);
}

Test(gen, reload_ten_times_under_a_stream_of_messages)
{
    run_root(2, reload_under_load, AX_NIL);
}

static ax_term_t down_reason(ax_term_t pid, ax_term_t ref)
{
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;

    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), ref, A("process"),
                              pid, AX_VAR(0)),
                     5000, &m, b) == 0);
    return b[0];
}

static void purge_old(ax_term_t arg)
{
    ax_term_t s[3];
    ax_term_t ref[3];
    ax_term_t r;
    ax_term_t m;

    (void)arg;
    for (int i = 0; i < 3; i++) {
        CHECK(ax_gen_start(A("gen_upg"), AX_NIL, NULL, &s[i], NULL) == 0);
        CHECK(ax_monitor(s[i], &ref[i]) == 0);
    }
    CHECK(install("upg2", "gen_upg"));
    CHECK(ax_module_load("gen_upg", NULL, NULL) == 0);
    /* s[0] handles a message, so moves to version 2; the others stay. */
    CHECK(ax_call(s[0], A("get"), AX_CALL_TIMEOUT, &r) == 0);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 2, A("v2"), I(0))));
    CHECK(ax_module_soft_purge(A("gen_upg")) == AX_EBUSY);
    /* A broken file changes nothing. */
    {
        char bad[2 * MOD_PATH_LEN];
        FILE *f;

        snprintf(bad, sizeof(bad), "%s/gen_upg.so", dir);
        f = fopen(bad, "w");
        CHECK(f != NULL);
        fputs("not an object file", f);
        fclose(f);
    }
    CHECK(ax_module_load("gen_upg", NULL, NULL) == AX_EBADMODULE);
    CHECK(ax_call(s[0], A("get"), AX_CALL_TIMEOUT, &r) == 0);
    /* A third version purges the old one: exactly s[1] and s[2] die. */
    CHECK(install("upg1", "gen_upg"));
    CHECK(ax_module_load("gen_upg", NULL, NULL) == 0);
    CHECK(down_reason(s[1], ref[1]) == A("killed"));
    CHECK(down_reason(s[2], ref[2]) == A("killed"));
    CHECK(ax_is_alive(s[0]));
    CHECK(ax_receive(AX_ANY, 50, &m, NULL) == AX_ETIMEOUT);
    CHECK(ax_call(s[0], A("get"), AX_CALL_TIMEOUT, &r) == 0);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 2, A("v1"), I(0))));
}

Test(gen, purge_kills_exactly_the_processes_in_old_code)
{
    run_root(2, purge_old, AX_NIL);
}
