/*
 * test_proc.c - processes, messages, selective receive, registered names
 * and timers: each rule of the Erlang Reference Manual's "Processes"
 * chapter that ax follows, as a test.
 */
#include <string.h>
#include <time.h>

#include "proc_util.h"

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

static ax_term_t I(int64_t v)
{
    return ax_int(ax_heap(), v);
}

/* --- Bodies used by the tests ---------------------------------------------- */

/* Replies {echo, Msg} to {From, Msg} until it gets stop. */
static void echo_body(ax_term_t arg)
{
    (void)arg;
    for (;;) {
        ax_term_t m = recv_any(AX_INFINITY);

        if (m == A("stop"))
            return;
        ax_send(ax_tuple_get(m, 0),
                ax_tuple(ax_heap(), 2, A("echo"), ax_tuple_get(m, 1)));
    }
}

static void exit_with_arg(ax_term_t reason)
{
    ax_exit(reason);
}

static void wait_forever(ax_term_t arg)
{
    ax_term_t m;

    (void)arg;
    ax_receive(A("never_sent"), AX_INFINITY, &m, NULL);
}

/* Sends its argument (a pid) the message ready, then waits forever. */
static void tell_ready_then_wait(ax_term_t parent)
{
    ax_send(parent, A("ready"));
    wait_forever(AX_NIL);
}

static ax_term_t counter_handler(ax_term_t msg, ax_term_t state)
{
    int64_t n;

    ax_get_int(state, &n);
    if (ax_is_pid(msg)) {
        ax_send(msg, state);
        return state;
    }
    return ax_int(ax_heap(), n + 1);
}

/* --- Spawning and messages --------------------------------------------------- */

static void spawn_and_echo(ax_term_t arg)
{
    ax_term_t e;
    ax_term_t r;

    (void)arg;
    CHECK(ax_spawn(echo_body, AX_NIL, &e) == 0);
    CHECK(ax_is_pid(e) && e != ax_self());
    CHECK(ax_is_alive(e));
    ax_send(e, ax_tuple(ax_heap(), 2, ax_self(), ax_string(ax_heap(), "hi")));
    r = recv_any(5000);
    CHECK(ax_equal_exact(r, ax_tuple(ax_heap(), 2, A("echo"),
                                     ax_string(ax_heap(), "hi"))));
    ax_send(e, A("stop"));
}

Test(proc, spawn_send_receive)
{
    run_root(2, spawn_and_echo, AX_NIL);
}

static void handler_counts(ax_term_t arg)
{
    ax_term_t c;

    (void)arg;
    CHECK(ax_spawn_handler(counter_handler, I(0), &c) == 0);
    for (int i = 0; i < 10000; i++)
        ax_send(c, A("inc"));
    ax_send(c, ax_self());
    CHECK(recv_any(5000) == I(10000));
}

Test(proc, handler_process_keeps_state_and_order)
{
    run_root(2, handler_counts, AX_NIL);
}

static void argument_is_copied(ax_term_t arg)
{
    ax_term_t big = ax_tuple(ax_heap(), 3, A("x"), ax_string(ax_heap(),
                             "a binary long enough to live off the heap, "
                             "shared by reference"),
                             ax_float(ax_heap(), 2.5));
    ax_term_t e;

    (void)arg;
    CHECK(ax_spawn(echo_body, AX_NIL, &e) == 0);
    ax_send(e, ax_tuple(ax_heap(), 2, ax_self(), big));
    ax_gc(&big, 1);
    CHECK(ax_equal_exact(recv_any(5000),
                         ax_tuple(ax_heap(), 2, A("echo"), big)));
    ax_send(e, A("stop"));
}

Test(proc, messages_are_copied_terms)
{
    run_root(2, argument_is_copied, AX_NIL);
}

/* --- Selective receive -------------------------------------------------------- */

static void selective(ax_term_t arg)
{
    ax_term_t self = ax_self();
    ax_term_t m;
    ax_term_t b[AX_VARS_MAX];

    (void)arg;
    ax_send(self, ax_tuple(ax_heap(), 2, A("a"), I(1)));
    ax_send(self, ax_tuple(ax_heap(), 2, A("b"), I(2)));
    ax_send(self, ax_tuple(ax_heap(), 2, A("a"), I(3)));
    CHECK(ax_receive(ax_tuple(ax_heap(), 2, A("b"), AX_VAR(0)), 0, &m, b) ==
          0);
    CHECK(b[0] == I(2));
    /* Unmatched messages stay, in order. */
    CHECK(ax_receive(ax_tuple(ax_heap(), 2, A("a"), AX_VAR(1)), 0, &m, b) ==
          0);
    CHECK(b[1] == I(1));
    CHECK(ax_receive(AX_ANY, 0, &m, NULL) == 0);
    CHECK(ax_equal_exact(m, ax_tuple(ax_heap(), 2, A("a"), I(3))));
    /* A variable used twice must match equal terms. */
    ax_send(self, ax_tuple(ax_heap(), 2, I(1), I(2)));
    ax_send(self, ax_tuple(ax_heap(), 2, I(5), I(5)));
    CHECK(ax_receive(ax_tuple(ax_heap(), 2, AX_VAR(0), AX_VAR(0)), 0, &m,
                     b) == 0);
    CHECK(b[0] == I(5));
    CHECK(ax_receive(AX_ANY, 0, &m, NULL) == 0);
    CHECK(ax_receive(AX_ANY, 0, &m, NULL) == AX_ETIMEOUT);
}

Test(proc, selective_receive_keeps_order)
{
    run_root(1, selective, AX_NIL);
}

static void map_pattern(ax_term_t arg)
{
    ax_term_t k[] = {A("op"), A("arg"), A("extra")};
    ax_term_t v[] = {A("add"), I(4), AX_NIL};
    ax_term_t pk[] = {A("op"), A("arg")};
    ax_term_t pv[] = {A("add"), AX_VAR(3)};
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;

    (void)arg;
    ax_send(ax_self(), ax_map_from(ax_heap(), 3, k, v));
    CHECK(ax_receive(ax_map_from(ax_heap(), 2, pk, pv), 0, &m, b) == 0);
    CHECK(b[3] == I(4));
    CHECK(!ax_match(ax_tuple(ax_heap(), 1, AX_ANY), ax_tuple(ax_heap(), 0),
                    NULL));
    CHECK(ax_match(ax_cons(ax_heap(), AX_VAR(0), AX_ANY),
                   ax_cons(ax_heap(), I(1), AX_NIL), b));
}

Test(proc, patterns_match_maps_and_lists)
{
    run_root(1, map_pattern, AX_NIL);
}

static void timeouts(ax_term_t arg)
{
    ax_term_t m;
    ax_term_t tref;
    int64_t left;

    (void)arg;
    CHECK(ax_receive(AX_ANY, 0, &m, NULL) == AX_ETIMEOUT);
    CHECK(ax_receive(AX_ANY, 20, &m, NULL) == AX_ETIMEOUT);
    CHECK(ax_send_after(10, ax_self(), A("later"), &tref) == 0);
    CHECK(ax_receive(AX_ANY, AX_INFINITY, &m, NULL) == 0);
    CHECK(m == A("later"));
    CHECK(ax_cancel_timer(tref, &left) == AX_EBADARG && left == -1);
    CHECK(ax_send_after(100000, ax_self(), A("never"), &tref) == 0);
    CHECK(ax_cancel_timer(tref, &left) == 0);
    CHECK(left > 90000 && left <= 100000);
    CHECK(ax_sleep(5) == 0);
    CHECK(ax_receive(AX_ANY, 0, &m, NULL) == AX_ETIMEOUT);
}

Test(proc, receive_timeouts_and_timers)
{
    run_root(2, timeouts, AX_NIL);
}

static void marker_receive(ax_term_t arg)
{
    ax_term_t self = ax_self();
    ax_term_t ref;
    ax_term_t m;

    (void)arg;
    for (int i = 0; i < 1000; i++)
        ax_send(self, I(i));
    ref = ax_make_ref(NULL);
    ax_send(self, ax_tuple(ax_heap(), 3, A("reply"), ref, A("ok")));
    CHECK(ax_receive(ax_tuple(ax_heap(), 3, A("reply"), ref, AX_ANY), 0, &m,
                     NULL) == 0);
    /* The old messages are all still there, in order. */
    for (int i = 0; i < 1000; i++)
        CHECK(recv_any(0) == I(i));
}

Test(proc, receive_marker_skips_older_messages)
{
    run_root(1, marker_receive, AX_NIL);
}

/* --- Exit signals and links ---------------------------------------------------- */

static void normal_exit_does_not_kill(ax_term_t arg)
{
    ax_term_t c;

    (void)arg;
    CHECK(ax_spawn_link(exit_with_arg, A("normal"), &c) == 0);
    CHECK(ax_sleep(20) == 0); /* still alive: the root continues */
    CHECK(!ax_is_alive(c));
}

Test(proc, normal_exit_does_not_kill_a_linked_process)
{
    run_root(2, normal_exit_does_not_kill, AX_NIL);
}

static void linked_victim(ax_term_t parent)
{
    ax_term_t c;

    CHECK(ax_spawn_link(exit_with_arg, A("boom"), &c) == 0);
    wait_forever(parent);
}

static void abnormal_exit_kills(ax_term_t arg)
{
    ax_term_t v;
    ax_term_t ref;
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;

    (void)arg;
    CHECK(ax_spawn_monitor(linked_victim, ax_self(), &v, &ref) == 0);
    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), ref, A("process"), v,
                              AX_VAR(0)),
                     5000, &m, b) == 0);
    CHECK(b[0] == A("boom"));
}

Test(proc, abnormal_exit_kills_linked_processes)
{
    run_root(2, abnormal_exit_kills, AX_NIL);
}

static void trapping(ax_term_t arg)
{
    ax_term_t c;
    ax_term_t m;

    (void)arg;
    CHECK(!ax_trap_exit(true));
    CHECK(ax_spawn_link(exit_with_arg, A("boom"), &c) == 0);
    m = recv_any(5000);
    CHECK(ax_equal_exact(m, ax_tuple(ax_heap(), 3, A("EXIT"), c,
                                     A("boom"))));
    CHECK(ax_spawn_link(exit_with_arg, A("normal"), &c) == 0);
    m = recv_any(5000);
    CHECK(ax_equal_exact(m, ax_tuple(ax_heap(), 3, A("EXIT"), c,
                                     A("normal"))));
    /* exit/2 with a reason other than kill is trapped too. */
    CHECK(ax_exit_signal(ax_self(), A("please")) == 0);
    m = recv_any(5000);
    CHECK(ax_equal_exact(m, ax_tuple(ax_heap(), 3, A("EXIT"), ax_self(),
                                     A("please"))));
}

Test(proc, trap_exit_turns_signals_into_messages)
{
    run_root(2, trapping, AX_NIL);
}

static void exit_later(ax_term_t reason)
{
    ax_sleep(30);
    ax_exit(reason);
}

/* A trapped exit that arrives while the receiver is already blocked (and
 * nothing else arrives) wakes its receive. */
static void trapped_exit_wakes_receive(ax_term_t arg)
{
    ax_term_t c;
    ax_term_t m;
    uint64_t t0 = (uint64_t)time(NULL);

    (void)arg;
    ax_trap_exit(true);
    CHECK(ax_spawn_link(exit_later, A("boom"), &c) == 0);
    CHECK(ax_receive(ax_tuple(ax_heap(), 3, A("EXIT"), c, A("boom")), 5000,
                     &m, NULL) == 0);
    CHECK((uint64_t)time(NULL) - t0 < 3);
}

Test(proc, a_trapped_exit_wakes_a_blocked_receive)
{
    run_root(2, trapped_exit_wakes_receive, AX_NIL);
}

static void trapper(ax_term_t parent)
{
    ax_trap_exit(true);
    ax_send(parent, A("ready"));
    wait_forever(AX_NIL);
}

static void kill_is_untrappable(ax_term_t arg)
{
    ax_term_t t;
    ax_term_t ref;
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;

    (void)arg;
    ax_trap_exit(true);
    CHECK(ax_spawn_link(trapper, ax_self(), &t) == 0);
    CHECK(recv_any(5000) == A("ready"));
    CHECK(ax_monitor(t, &ref) == 0);
    CHECK(ax_exit_signal(t, A("kill")) == 0);
    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), ref, A("process"), t,
                              AX_VAR(0)),
                     5000, &m, b) == 0);
    CHECK(b[0] == A("killed"));
    /* Its link reaches us as killed, which we trap. */
    m = recv_any(5000);
    CHECK(ax_equal_exact(m, ax_tuple(ax_heap(), 3, A("EXIT"), t,
                                     A("killed"))));
}

Test(proc, kill_cannot_be_trapped_and_links_see_killed)
{
    run_root(2, kill_is_untrappable, AX_NIL);
}

static void self_normal(ax_term_t parent)
{
    ax_exit_signal(ax_self(), A("normal"));
    ax_send(parent, A("still_alive"));
}

static void exit_self_normal(ax_term_t arg)
{
    ax_term_t c;
    ax_term_t ref;
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;

    (void)arg;
    CHECK(ax_spawn_monitor(self_normal, ax_self(), &c, &ref) == 0);
    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), ref, AX_ANY, AX_ANY,
                              AX_VAR(0)),
                     5000, &m, b) == 0);
    CHECK(b[0] == A("normal"));
    CHECK(ax_receive(A("still_alive"), 0, &m, NULL) == AX_ETIMEOUT);
    /* exit(Other, normal) is ignored by a process not trapping. */
    CHECK(ax_spawn_monitor(tell_ready_then_wait, ax_self(), &c, &ref) == 0);
    CHECK(recv_any(5000) == A("ready"));
    CHECK(ax_exit_signal(c, A("normal")) == 0);
    CHECK(ax_sleep(20) == 0);
    CHECK(ax_is_alive(c));
    CHECK(ax_exit_signal(c, A("kill")) == 0);
}

Test(proc, exit_signal_normal_to_self_ends_the_caller)
{
    run_root(2, exit_self_normal, AX_NIL);
}

static void link_to_dead(ax_term_t arg)
{
    ax_term_t c;
    ax_term_t ref;

    (void)arg;
    CHECK(ax_spawn_monitor(exit_with_arg, A("normal"), &c, &ref) == 0);
    recv_any(5000); /* its DOWN */
    CHECK(ax_link(c) == AX_ENOPROC);
    CHECK(ax_link(ax_self()) == 0);
    CHECK(ax_unlink(c) == 0);
}

Test(proc, linking_to_a_dead_process_is_noproc)
{
    run_root(2, link_to_dead, AX_NIL);
}

static void unlink_then_die(ax_term_t arg)
{
    ax_term_t c;

    (void)arg;
    CHECK(ax_spawn_link(wait_forever, AX_NIL, &c) == 0);
    CHECK(ax_unlink(c) == 0);
    CHECK(ax_exit_signal(c, A("boom")) == 0);
    CHECK(ax_sleep(20) == 0);
    CHECK(!ax_is_alive(c));
}

Test(proc, unlink_stops_the_signal)
{
    run_root(2, unlink_then_die, AX_NIL);
}

/* --- Monitors ------------------------------------------------------------------- */

static void monitors(ax_term_t arg)
{
    ax_term_t c;
    ax_term_t ref;
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;
    ax_term_t dead = AX_NONE;

    (void)arg;
    CHECK(ax_spawn(exit_with_arg, A("bye"), &c) == 0);
    CHECK(ax_monitor(c, &ref) == 0);
    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), ref, A("process"), c,
                              AX_VAR(0)),
                     5000, &m, b) == 0);
    CHECK(b[0] == A("bye") || b[0] == A("noproc"));
    dead = c;
    /* A dead target gives noproc at once. */
    CHECK(ax_monitor(dead, &ref) == 0);
    CHECK(ax_receive(ax_tuple(ax_heap(), 5, A("DOWN"), ref, A("process"),
                              dead, A("noproc")),
                     0, &m, NULL) == 0);
    /* demonitor with flush removes a DOWN already delivered. */
    CHECK(ax_spawn(exit_with_arg, A("x"), &c) == 0);
    CHECK(ax_monitor(c, &ref) == 0);
    CHECK(ax_sleep(20) == 0);
    CHECK(ax_demonitor(ref, AX_DEMONITOR_FLUSH) == 0);
    CHECK(ax_receive(AX_ANY, 0, &m, NULL) == AX_ETIMEOUT);
    /* demonitor before death: no DOWN ever. */
    CHECK(ax_spawn(wait_forever, AX_NIL, &c) == 0);
    CHECK(ax_monitor(c, &ref) == 0);
    CHECK(ax_demonitor(ref, 0) == 0);
    CHECK(ax_exit_signal(c, A("kill")) == 0);
    CHECK(ax_sleep(20) == 0);
    CHECK(ax_receive(AX_ANY, 0, &m, NULL) == AX_ETIMEOUT);
}

Test(proc, monitors_deliver_down)
{
    run_root(2, monitors, AX_NIL);
}

/* --- Registered names ------------------------------------------------------------- */

static void names(ax_term_t arg)
{
    ax_term_t e;
    ax_term_t d;
    ax_term_t ref;
    ax_term_t l;

    (void)arg;
    CHECK(ax_spawn(echo_body, AX_NIL, &e) == 0);
    CHECK(ax_register(A("echo"), e) == 0);
    CHECK(ax_whereis(A("echo")) == e);
    CHECK(ax_register(A("echo"), ax_self()) == AX_EBADARG);   /* taken */
    CHECK(ax_register(A("other"), e) == AX_EBADARG);  /* has a name */
    l = ax_registered(ax_heap());
    CHECK(ax_list_length(l) == 1 && ax_head(l) == A("echo"));
    ax_send(A("echo"), ax_tuple(ax_heap(), 2, ax_self(), I(7)));
    CHECK(ax_equal_exact(recv_any(5000),
                         ax_tuple(ax_heap(), 2, A("echo"), I(7))));
    CHECK(ax_send(A("nobody"), I(1)) == AX_EBADARG);
    /* A name goes when its process dies. */
    CHECK(ax_monitor(e, &ref) == 0);
    ax_send(A("echo"), A("stop"));
    recv_any(5000);
    CHECK(ax_whereis(A("echo")) == AX_NONE);
    /* A dead pid cannot be registered. */
    CHECK(ax_register(A("ghost"), e) == AX_EBADARG);
    CHECK(ax_spawn(wait_forever, AX_NIL, &d) == 0);
    CHECK(ax_register(A("w"), d) == 0);
    CHECK(ax_unregister(A("w")) == 0);
    CHECK(ax_unregister(A("w")) == AX_EBADARG);
    CHECK(ax_whereis(A("w")) == AX_NONE);
    ax_exit_signal(d, A("kill"));
}

Test(proc, registered_names)
{
    run_root(2, names, AX_NIL);
}

/* --- Information ---------------------------------------------------------------- */

static void info(ax_term_t arg)
{
    ax_process_info_t pi;
    ax_term_t c;
    ax_term_t ref;

    (void)arg;
    CHECK(ax_spawn_link(tell_ready_then_wait, ax_self(), &c) == 0);
    CHECK(recv_any(5000) == A("ready"));
    CHECK(ax_monitor(c, &ref) == 0);
    ax_send(c, A("one"));
    ax_send(c, A("two"));
    CHECK(ax_sleep(10) == 0);
    CHECK(ax_process_info(c, NULL, &pi) == 0);
    CHECK(pi.message_queue_len == 2);
    CHECK(pi.status == AX_PS_WAITING);
    CHECK(pi.has_stack);
    CHECK(ax_list_length(pi.links) == 1 && ax_head(pi.links) == ax_self());
    CHECK(ax_list_length(pi.monitored_by) == 1);
    /* Blocked in a receive, inside the body it was spawned with. */
    CHECK(ax_equal_exact(pi.current, ax_tuple(ax_heap(), 3, A("ax"),
                                              A("receive"), I(4))));
    CHECK(ax_tuple_size(pi.initial_call) == 3);
    CHECK(ax_process_info(ax_self(), NULL, &pi) == 0);
    CHECK(pi.reductions > 0);
    CHECK(ax_list_length(pi.links) == 1 && ax_head(pi.links) == c);
    CHECK(ax_list_length(pi.monitors) == 1);
    CHECK(pi.status == AX_PS_RUNNING);
    ax_unlink(c);
    ax_exit_signal(c, A("kill"));
    recv_any(5000);
    CHECK(ax_process_info(c, NULL, &pi) == AX_ENOPROC);
}

Test(proc, process_info_of_self_and_others)
{
    run_root(2, info, AX_NIL);
}

/* --- Many processes --------------------------------------------------------------- */

static void many(ax_term_t arg)
{
    int64_t n;
    ax_term_t c;

    ax_get_int(arg, &n);
    for (int64_t i = 0; i < n; i++) {
        CHECK(ax_spawn_handler(counter_handler, I(0), &c) == 0);
        ax_exit_signal(c, A("kill"));
    }
}

/* A million in the plain build; the sanitizer builds do a tenth (the
 * leak check at their end is what they are for). */
#ifdef AX_TESTING
#define MANY 100000
#else
#define MANY 1000000
#endif

Test(proc, spawn_and_kill_many_leaves_nothing, .timeout = 120)
{
    ax_node_stats_t st;

    run_root(2, many, ax_int(NULL, MANY));
    cr_assert_eq(ax_node_stats(&st), AX_ESTATE);
}
