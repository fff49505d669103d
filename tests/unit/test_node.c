/*
 * test_node.c - the control socket: connecting, the hello and its cookie,
 * each request's result, the process list's paging and top-N, the shell
 * process dying and coming back with a new pid, and garbage on the socket
 * that must leave the node serving.
 *
 * Each test starts a node listening in a fresh directory of its own with
 * the cookie "sesame", and talks to it as a client from the test's
 * thread. Waiting for something is always a wait on it with a timeout.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ax.h"
#include "mod_util.h"

#define WAIT_MS 5000

static char dir[MOD_PATH_LEN];
static char sock[MOD_PATH_LEN + 16];
static ax_client_t *c;
static ax_heap_t *h;

static void node_up(void)
{
    ax_node_opts_t no = {.schedulers = 2};
    ax_listen_opts_t lo = {.name = "tnode", .cookie = "sesame"};
    char so[MOD_PATH_LEN + 16];

    mod_dir_make(dir, "node");
    snprintf(so, sizeof(so), "%s/gen_srv.so", dir);
    mod_build("gen_srv.c", so);
    cr_assert_eq(ax_module_add_path(dir), 0);
    lo.dir = dir;
    h = ax_heap_new();
    cr_assert_eq(ax_node_start(&no), 0);
    cr_assert_eq(ax_node_listen(&lo), 0);
    cr_assert_str_eq(ax_node_name(), "tnode");
    snprintf(sock, sizeof(sock), "%s/tnode.sock", dir);
    cr_assert_eq(ax_client_connect(sock, "sesame", AX_NONE, &c), 0);
}

static void node_down(void)
{
    ax_client_close(c);
    c = NULL;
    cr_assert_eq(ax_node_stop(), 0);
    cr_assert_null(ax_node_name());
    cr_assert_eq(access(sock, F_OK), -1, "the socket is removed");
    ax_heap_free(h);
    mod_dir_remove(dir);
}

TestSuite(node, .init = node_up, .fini = node_down, .timeout = 60);

/* Replaces the atoms '$1'.. '$4' in t (map values too) by args[0..3]. */
static ax_term_t subst(ax_term_t t, const ax_term_t *args)
{
    static const char *const names[] = {"$1", "$2", "$3", "$4"};
    size_t n;

    for (size_t i = 0; i < 4; i++)
        if (t == ax_atom(names[i]))
            return args[i];
    if (ax_is_tuple(t)) {
        ax_term_t e[8];

        n = ax_tuple_size(t);
        cr_assert_leq(n, 8);
        for (size_t i = 0; i < n; i++)
            e[i] = subst(ax_tuple_get(t, i), args);
        return ax_tuple_v(h, n, e);
    }
    if (ax_is_cons(t))
        return ax_cons(h, subst(ax_head(t), args), subst(ax_tail(t), args));
    if (ax_is_map(t)) {
        ax_term_t m = ax_map_new(h);
        ax_term_t k;
        ax_term_t v;

        for (size_t i = 0; ax_map_pair(t, i, &k, &v); i++)
            m = ax_map_put(h, m, k, subst(v, args));
        return m;
    }
    return t;
}

/* The request written in text (with '$1'.. for a0..a3), sent; returns
 * the result. */
static ax_term_t rq4(const char *text, ax_term_t a0, ax_term_t a1,
                     ax_term_t a2, ax_term_t a3)
{
    ax_term_t args[4] = {a0, a1, a2, a3};
    ax_term_t t;
    ax_term_t r;

    cr_assert_eq(ax_parse(h, text, strlen(text), &t, NULL), 0, "%s", text);
    cr_assert_eq(ax_client_request(c, h, subst(t, args), WAIT_MS, &r), 0,
                 "request %s", text);
    return r;
}

static ax_term_t rq(const char *text)
{
    return rq4(text, AX_NONE, AX_NONE, AX_NONE, AX_NONE);
}

static ax_term_t rq1(const char *text, ax_term_t a)
{
    return rq4(text, a, AX_NONE, AX_NONE, AX_NONE);
}

/* Asserts t prints as text, spaces aside. */
static void is(ax_term_t t, const char *text)
{
    char *s = ax_format(t, NULL, NULL);
    size_t k = 0;

    for (size_t i = 0; s[i]; i++)
        if (s[i] != ' ')
            s[k++] = s[i];
    s[k] = '\0';
    cr_assert_str_eq(s, text);
    free(s);
}

/* The value of an {ok, V} result. */
static ax_term_t ok(ax_term_t r)
{
    char *s = ax_format(r, NULL, NULL);

    cr_assert(ax_is_record(r, ax_atom("ok"), 2), "not ok: %s", s);
    free(s);
    return ax_tuple_get(r, 1);
}

static ax_term_t next_event(void)
{
    ax_term_t ev = AX_NONE;

    cr_assert_eq(ax_client_next_event(c, h, WAIT_MS, &ev), 0);
    return ev;
}

static ax_term_t spawn_srv(const char *how)
{
    char text[64];

    snprintf(text, sizeof(text), "{spawn, gen_srv, [], %s}.", how);
    return ok(rq(text));
}

Test(node, welcome_names_node_and_shell)
{
    cr_assert_str_eq(ax_client_node(c), "tnode");
    cr_assert(ax_is_pid(ax_client_shell(c)));
    cr_assert(ax_is_alive(ax_client_shell(c)));
    is(rq("ping."), "{ok,pong}");
}

Test(node, wrong_cookie_refused)
{
    ax_client_t *bad = NULL;

    cr_assert_eq(ax_client_connect(sock, "open sesame", AX_NONE, &bad),
                 AX_EREFUSED);
    cr_assert_null(bad);
    is(rq("ping."), "{ok,pong}");
}

Test(node, no_such_node)
{
    ax_client_t *none = NULL;
    char path[MOD_PATH_LEN + 16];

    snprintf(path, sizeof(path), "%s/nobody.sock", dir);
    cr_assert_eq(ax_client_connect(path, "sesame", AX_NONE, &none),
                 AX_ENOCONN);
}

Test(node, a_second_node_of_the_name_is_refused)
{
    ax_listen_opts_t lo = {.name = "tnode", .cookie = "sesame", .dir = dir};

    cr_assert_eq(ax_node_listen(&lo), AX_ESTATE);
}

Test(node, spawn_send_register_whereis)
{
    ax_term_t pid = spawn_srv("none");
    ax_term_t mon;

    cr_assert(ax_is_pid(pid));
    is(rq1("{register, srv, '$1'}.", pid), "{ok,true}");
    cr_assert_eq(ok(rq("{whereis, srv}.")), pid);
    is(rq("{whereis, nobody}."), "{ok,undefined}");
    cr_assert(ax_is_list(ok(rq("registered."))));
    is(rq("{cast, srv, inc}."), "{ok,ok}");
    is(rq("{call, srv, get, 1000}."), "{ok,1}");
    is(rq("{send, srv, {'$gen_cast', inc}}."), "{ok,ok}");
    is(rq("{call, srv, get, infinity}."), "{ok,2}");
    is(rq("{get_state, srv, 1000}."), "{ok,{2,[]}}");
    is(rq1("{is_alive, '$1'}.", pid), "{ok,true}");
    is(rq("{unregister, srv}."), "{ok,true}");
    is(rq("{unregister, srv}."), "{error,badarg}");
    mon = ok(rq("{spawn, gen_srv, [], monitor}."));
    cr_assert(ax_is_tuple(mon) && ax_is_ref(ax_tuple_get(mon, 1)));
    is(rq("{spawn, no_such_module, [], none}."), "{error,undef}");
    is(rq("{spawn, gen_srv, fail, none}."), "{error,{exit,init_failed}}");
    is(rq("{spawn, gen_srv, [], sideways}."), "{error,badarg}");
}

Test(node, messages_to_the_shell_are_events)
{
    ax_term_t shell = ax_client_shell(c);

    cr_assert_eq(ax_send(shell, ax_atom("hello")), 0);
    is(next_event(), "{message,hello}");
    is(rq1("{send, '$1', {a, 1}}.", shell), "{ok,ok}");
    is(next_event(), "{message,{a,1}}");
}

Test(node, links_monitors_and_exits)
{
    ax_term_t pid = spawn_srv("none");
    ax_term_t ref;
    ax_term_t ev;

    is(rq1("{link, '$1'}.", pid), "{ok,true}");
    is(rq1("{unlink, '$1'}.", pid), "{ok,true}");
    ref = ok(rq1("{monitor, '$1'}.", pid));
    cr_assert(ax_is_ref(ref));
    is(rq1("{exit, '$1', bye}.", pid), "{ok,true}");
    ev = next_event();
    cr_assert(ax_is_record(ax_tuple_get(ev, 1), ax_atom("DOWN"), 5));
    cr_assert(ax_equal_exact(ax_tuple_get(ax_tuple_get(ev, 1), 1), ref));
    is(ax_tuple_get(ax_tuple_get(ev, 1), 4), "bye");
    is(rq1("{is_alive, '$1'}.", pid), "{ok,false}");
    is(rq1("{link, '$1'}.", pid), "{error,noproc}");
    is(rq1("{demonitor, '$1'}.", ref), "{ok,true}");
    is(rq("{call, nobody, get, 100}."), "{error,noproc}");
    is(rq("{no_such_request, 1}."), "{error,{badreq,{no_such_request,1}}}");
    is(rq("42."), "{error,badreq}");
}

Test(node, trapped_exit_is_a_message)
{
    ax_term_t shell = ax_client_shell(c);
    ax_term_t pid;
    ax_term_t ev;

    is(rq("{trap_exit, true}."), "{ok,false}");
    pid = spawn_srv("link");
    is(rq1("{exit, '$1', boom}.", pid), "{ok,true}");
    ev = ax_tuple_get(next_event(), 1);
    cr_assert(ax_is_record(ev, ax_atom("EXIT"), 3));
    cr_assert_eq(ax_tuple_get(ev, 1), pid);
    is(ax_tuple_get(ev, 2), "boom");
    cr_assert_eq(ax_client_shell(c), shell, "the shell lives on");
    is(rq("{trap_exit, false}."), "{ok,true}");
}

Test(node, linked_crash_kills_the_shell_which_comes_back)
{
    ax_term_t shell = ax_client_shell(c);
    ax_term_t pid = spawn_srv("link");
    ax_term_t r = rq1("{call, '$1', crash, 1000}.", pid);
    ax_term_t ev;

    is(r, "{error,{exit,crashed_in_call}}");
    ev = next_event();
    cr_assert(ax_is_record(ev, ax_atom("shell_exit"), 3));
    is(ax_tuple_get(ev, 1), "crashed_in_call");
    cr_assert_neq(ax_tuple_get(ev, 2), shell);
    cr_assert_eq(ax_client_shell(c), ax_tuple_get(ev, 2));
    cr_assert_not(ax_is_alive(shell));
    is(rq("ping."), "{ok,pong}");
}

Test(node, killed_shell_comes_back)
{
    ax_term_t shell = ax_client_shell(c);
    ax_term_t ev;

    cr_assert_eq(ax_exit_signal(shell, ax_atom("kill")), 0);
    ev = next_event();
    cr_assert(ax_is_record(ev, ax_atom("shell_exit"), 3));
    is(ax_tuple_get(ev, 1), "killed");
    cr_assert_neq(ax_client_shell(c), shell);
    is(rq("ping."), "{ok,pong}");
    /* The shell killing itself: its request answers, then it is back. */
    shell = ax_client_shell(c);
    is(rq1("{exit, '$1', kill}.", shell), "{error,{shell_exit,killed}}");
    ev = next_event();
    is(ax_tuple_get(ev, 1), "killed");
    cr_assert_neq(ax_client_shell(c), shell);
}

Test(node, interrupt_cancels_a_blocked_call)
{
    ax_term_t pid = spawn_srv("none");
    ax_term_t req = ax_tuple(h, 4, ax_atom("call"), pid, ax_atom("defer"),
                             ax_atom("infinity"));
    ax_term_t r;

    /* The request times out on the client's side, then the interrupt
     * makes the node answer it, and the shell serves the next one. */
    cr_assert_eq(ax_client_request(c, h, req, 200, &r), AX_ETIMEOUT);
    cr_assert_eq(ax_client_interrupt(c), 0);
    is(rq("ping."), "{ok,pong}");
    is(rq1("{call, '$1', get, 1000}.", pid), "{ok,0}");
    /* The deferred reply, when it comes, never reaches the shell. */
    is(rq1("{cast, '$1', release}.", pid), "{ok,ok}");
    is(rq("ping."), "{ok,pong}");
    cr_assert_eq(ax_client_next_event(c, h, 100, &r), AX_ETIMEOUT);
}

Test(node, call_timeout)
{
    ax_term_t pid = spawn_srv("none");

    is(rq1("{call, '$1', defer, 50}.", pid), "{error,timeout}");
    is(rq1("{call, '$1', get, 1000}.", pid), "{ok,0}");
}

Test(node, modules_and_supervisors)
{
    ax_term_t sup;
    ax_term_t kids;
    ax_term_t tree;
    ax_term_t child;
    ax_term_t r;

    cr_assert(ax_is_list(ok(rq("modules."))));
    r = rq("{load, no_such_mod}.");
    cr_assert(ax_is_record(r, ax_atom("error"), 2));
    is(ax_tuple_get(ax_tuple_get(r, 1), 0), "undef");
    {
        size_t len = 0;

        cr_assert(ax_binary_data(ax_tuple_get(ax_tuple_get(r, 1), 1), &len));
        cr_assert_gt(len, 0, "the loader's message comes back");
    }
    sup = ok(rq("{start_supervisor, top, #{strategy => one_for_one},"
                " [#{id => w, start => {gen_srv, []}}]}."));
    cr_assert(ax_is_pid(sup));
    kids = ok(rq("{which_children, top}."));
    cr_assert_eq(ax_list_length(kids), 1);
    child = ax_head(kids);
    is(ax_tuple_get(child, 0), "w");
    is(rq("{count_children, top}."),
       "{ok,#{active=>1,specs=>1,supervisors=>0,workers=>1}}");
    is(rq("{terminate_child, top, w}."), "{ok,ok}");
    cr_assert(ax_is_record(ok(rq("{restart_child, top, w}.")), ax_atom("ok"),
                           2));
    cr_assert(ax_is_record(
        ok(rq("{start_child, top, #{id => v, start => {gen_srv, []}}}.")),
        ax_atom("ok"), 2));
    is(rq("{delete_child, top, nobody}."), "{ok,{error,not_found}}");
    tree = ok(rq("tree."));
    cr_assert_eq(ax_list_length(tree), 1);
    tree = ax_head(tree);
    cr_assert_eq(ax_map_get(tree, ax_atom("pid")), sup);
    is(ax_map_get(tree, ax_atom("name")), "top");
    cr_assert_eq(ax_list_length(ax_map_get(tree, ax_atom("children"))), 2);
    is(ax_map_get(ax_map_get(tree, ax_atom("state")), ax_atom("strategy")),
       "one_for_one");
    tree = ok(rq("{tree, top}."));
    cr_assert_eq(ax_map_get(tree, ax_atom("pid")), sup);
    is(rq("{tree, nobody}."), "{error,noproc}");
}

Test(node, stats_and_process_info)
{
    ax_term_t st = ok(rq("stats."));
    ax_term_t pid = spawn_srv("none");
    ax_term_t info;

    is(ax_map_get(st, ax_atom("schedulers")), "2");
    is(ax_map_get(st, ax_atom("node")), "tnode");
    cr_assert_eq(ax_list_length(ax_map_get(st, ax_atom("scheduler_stats"))),
                 2);
    info = ok(rq1("{process_info, '$1'}.", pid));
    cr_assert_eq(ax_map_get(info, ax_atom("pid")), pid);
    is(ax_map_get(info, ax_atom("message_queue_len")), "0");
    cr_assert(ax_is_map(ax_map_get(info, ax_atom("heap"))));
    is(rq1("{exit, '$1', kill}.", pid), "{ok,true}");
    cr_assert(ax_is_record(rq1("{process_info, '$1'}.", pid),
                           ax_atom("error"), 2));
}

static int64_t stat_of(const char *key)
{
    int64_t v = -1;

    ax_get_int(ax_map_get(ok(rq("stats.")), ax_atom(key)), &v);
    return v;
}

/* stats' memory: every heap's bytes, the shared binaries' (up by one
 * alive, down once freed), the code's and the atoms'. */
Test(node, stats_memory)
{
    static uint8_t data[1 << 20];
    int64_t before = stat_of("binary_bytes");
    ax_heap_t *bh = ax_heap_new();

    spawn_srv("none");
    cr_assert_gt(stat_of("heap_bytes"), 0);
    cr_assert_gt(stat_of("code_bytes"), 0, "gen_srv is loaded");
    cr_assert_gt(stat_of("atom_bytes"), 0);
    cr_assert(ax_binary(bh, data, sizeof(data)) != AX_NONE);
    cr_assert_geq(stat_of("binary_bytes"), before + (int64_t)sizeof(data));
    ax_heap_free(bh);
    cr_assert_lt(stat_of("binary_bytes"), before + (int64_t)sizeof(data));
}

/* The crashes of child id of supervisor sup, waiting (the log is written
 * by its own thread) until there are want of them. */
static ax_term_t child_crashes(ax_term_t sup, const char *id, size_t want)
{
    char text[160];
    ax_term_t list = AX_NIL;

    snprintf(text, sizeof(text),
             "{crashes, #{supervisor => '$1', child_id => %s}}.", id);
    for (int i = 0; i < 1000; i++) {
        list = ok(rq1(text, sup));
        if (ax_list_length(list) >= (ptrdiff_t)want)
            break;
        usleep(2000);
    }
    return list;
}

/* The pid of csup's child w. */
static ax_term_t w_pid(void)
{
    for (ax_term_t l = ok(rq("{which_children, csup}.")); ax_is_cons(l);
         l = ax_tail(l))
        if (ax_tuple_get(ax_head(l), 0) == ax_atom("w"))
            return ax_tuple_get(ax_head(l), 1);
    return AX_NONE;
}

/* {crashes, #{supervisor, child_id}}: one child's crashes across its
 * restarts, whatever its pid was each time. */
Test(node, crashes_of_a_supervised_child)
{
    ax_term_t sup = ok(rq("{start_supervisor, csup, #{strategy => one_for_one,"
                          " intensity => 10, period => 10},"
                          " [#{id => w, start => {gen_srv, []}},"
                          " #{id => v, start => {gen_srv, []}}]}."));
    ax_term_t first;
    ax_term_t second;
    ax_term_t list;
    char want[64];
    char *text;

    first = w_pid();
    rq1("{call, '$1', crash, 1000}.", first);
    list = child_crashes(sup, "w", 1);
    cr_assert_eq(ax_list_length(list), 1);
    do { /* the supervisor restarts it */
        second = w_pid();
    } while (!ax_is_pid(second) || second == first);
    rq1("{call, '$1', crash, 1000}.", second);
    list = child_crashes(sup, "w", 2);
    cr_assert_eq(ax_list_length(list), 2);
    is(ax_map_get(ax_head(list), ax_atom("reason")), "\"crashed_in_call\"");
    cr_assert_eq(ax_list_length(child_crashes(sup, "v", 0)), 0);
    is(rq("{crashes, #{supervisor => notapid}}."), "{error,badarg}");
    /* By pid (its key, schema version 3): that process's crash alone. */
    list = ok(rq1("{crashes, #{pid => '$1'}}.", second));
    cr_assert_eq(ax_list_length(list), 1);
    text = ax_format(second, NULL, NULL);
    snprintf(want, sizeof(want), "\"%s\"", text);
    free(text);
    is(ax_map_get(ax_head(list), ax_atom("pid")), want);
}

/* {gc, Pid}: a handler (a gen_server) collects at its next wait, a body
 * cannot be collected from outside; {crash, Id} of no report is an
 * error; stats counts the supervisors' restarts. */
Test(node, gc_crash_and_restarts_requests)
{
    ax_term_t pid = spawn_srv("none");
    ax_term_t heap;
    int64_t majors = 0;

    is(rq1("{gc, '$1'}.", pid), "{ok,asked}");
    for (int i = 0; i < 500 && majors == 0; i++) {
        heap = ax_map_get(ok(rq1("{process_info, '$1'}.", pid)),
                          ax_atom("heap"));
        ax_get_int(ax_map_get(heap, ax_atom("major_gcs")), &majors);
        if (majors == 0)
            usleep(2000);
    }
    cr_assert_eq(majors, 1);
    is(rq1("{gc, '$1'}.", ax_client_shell(c)), "{error,notsup}");
    is(rq1("{exit, '$1', kill}.", pid), "{ok,true}");
    for (int i = 0; i < 500 && ax_is_true(ok(rq1("{is_alive, '$1'}.", pid)));
         i++)
        usleep(2000); /* an exit signal is asynchronous */
    is(rq1("{gc, '$1'}.", pid), "{error,noproc}");
    is(rq("{gc, notapid}."), "{error,badarg}");
    cr_assert(ax_is_record(rq("{crash, 123456789}."), ax_atom("error"), 2));
    cr_assert(ax_is_int(ax_map_get(ok(rq("stats.")), ax_atom("restarts"))));
}

/* A body that waits for ever with n messages in its mailbox: its mailbox
 * length sorts it. */
static void holder(ax_term_t arg)
{
    int64_t n = 0;
    ax_term_t m;

    ax_get_int(arg, &n);
    for (int64_t i = 0; i < n; i++)
        ax_send(ax_self(), ax_int(ax_heap(), i));
    ax_receive(ax_atom("never"), AX_INFINITY, &m, NULL);
}

/* Sends itself {m, 0}, {m, 1}, a list of 20,000 integers (more than
 * {messages, ...} copies), then {m, 3} ... {m, 149}, and waits. */
static void queue_filler(ax_term_t arg)
{
    ax_heap_t *hp = ax_heap();
    ax_term_t big = AX_NIL;
    ax_term_t m;

    (void)arg;
    for (int i = 0; i < 20000; i++)
        big = ax_cons(hp, ax_int(hp, i), big);
    for (int i = 0; i < 150; i++)
        ax_send(ax_self(), i == 2 ? big
                                  : ax_tuple(hp, 2, ax_atom("m"),
                                             ax_int(hp, i)));
    ax_receive(ax_atom("never"), AX_INFINITY, &m, NULL);
}

/* {messages, Pid, N}: the first N, copied by the process, bounded in
 * bytes (a message that does not fit ends the list, with cut). */
Test(node, messages_of_a_process)
{
    ax_term_t pid;
    ax_process_info_t in = {0};

    cr_assert_eq(ax_spawn(queue_filler, AX_NIL, &pid), 0);
    for (int tries = 0; in.message_queue_len < 150; tries++) {
        cr_assert_lt(tries, 1000);
        cr_assert_eq(ax_process_info(pid, h, &in), 0);
        if (in.message_queue_len < 150)
            usleep(2000);
    }
    is(rq1("{messages, '$1', 2}.", pid),
       "{ok,#{cut=>false,messages=>[{m,0},{m,1}],total=>150}}");
    is(rq1("{messages, '$1', 5}.", pid),
       "{ok,#{cut=>true,messages=>[{m,0},{m,1}],total=>150}}");
    is(rq1("{messages, '$1', 0}.", pid),
       "{ok,#{cut=>false,messages=>[],total=>150}}");
    is(rq("{messages, notapid, 1}."), "{error,badarg}");
    is(rq1("{exit, '$1', kill}.", pid), "{ok,true}");
    for (int i = 0; i < 500 && ax_is_true(ok(rq1("{is_alive, '$1'}.", pid)));
         i++)
        usleep(2000); /* an exit signal is asynchronous */
    is(rq1("{messages, '$1', 1}.", pid), "{error,noproc}");
}

Test(node, process_list_pages_and_top_n)
{
    ax_term_t pids[30];
    ax_term_t r;
    ax_term_t rows;
    int64_t total;
    ax_term_t all = AX_NIL;

    for (int i = 0; i < 30; i++)
        cr_assert_eq(ax_spawn(holder, ax_int(h, i + 1), &pids[i]), 0);
    /* Wait until each has filled its mailbox. */
    for (int i = 0, tries = 0; i < 30; tries++) {
        ax_process_info_t in;

        cr_assert_eq(ax_process_info(pids[i], h, &in), 0);
        if (in.message_queue_len == (size_t)i + 1 &&
            in.status == AX_PS_WAITING) {
            i++;
            continue;
        }
        cr_assert_lt(tries, 1000);
        cr_assert_eq(ax_client_next_event(c, h, 1, &r), AX_ETIMEOUT);
    }
    r = ok(rq("{processes, #{sort => mailbox, limit => 5}}."));
    cr_assert_eq(ax_get_int(ax_map_get(r, ax_atom("total")), &total), 0);
    cr_assert_geq(total, 31);
    rows = ax_map_get(r, ax_atom("rows"));
    cr_assert_eq(ax_list_length(rows), 5);
    for (int i = 0; i < 5; i++, rows = ax_tail(rows)) {
        ax_term_t row = ax_head(rows);

        cr_assert_eq(ax_map_get(row, ax_atom("pid")), pids[29 - i]);
        cr_assert_eq(ax_map_get(row, ax_atom("mailbox")),
                     ax_int(h, 30 - i));
        is(ax_map_get(row, ax_atom("status")), "waiting");
    }
    /* The second page goes on where the first stopped. */
    r = ok(rq("{processes, #{sort => mailbox, limit => 5, offset => 5}}."));
    rows = ax_map_get(r, ax_atom("rows"));
    cr_assert_eq(ax_map_get(ax_head(rows), ax_atom("pid")), pids[24]);
    /* Ascending, filtered by the function they run. */
    r = ok(rq("{processes, #{sort => mailbox, order => asc, "
              "filter => <<\"holder\">>, limit => 100}}."));
    is(ax_map_get(r, ax_atom("total")), "30");
    rows = ax_map_get(r, ax_atom("rows"));
    cr_assert_eq(ax_map_get(ax_head(rows), ax_atom("pid")), pids[0]);
    is(ax_tuple_get(ax_map_get(ax_head(rows), ax_atom("initial_call")), 1),
       "holder");
    is(ax_map_get(ax_head(rows), ax_atom("current")), "{ax,'receive',4}");
    /* By pid, everything: each once, in order. */
    r = ok(rq("{processes, #{sort => pid, limit => 10000}}."));
    rows = ax_map_get(r, ax_atom("rows"));
    for (ax_term_t l = rows; ax_is_cons(l); l = ax_tail(l)) {
        if (ax_is_cons(ax_tail(l)))
            cr_assert_lt(ax_compare(ax_map_get(ax_head(l), ax_atom("pid")),
                                    ax_map_get(ax_head(ax_tail(l)),
                                               ax_atom("pid"))),
                         0);
        all = l;
    }
    (void)all;
    r = ok(rq("{processes, #{sort => heap, limit => 3}}."));
    cr_assert_eq(ax_list_length(ax_map_get(r, ax_atom("rows"))), 3);
    is(rq("{processes, 17}."), "{error,badarg}");
}

/* Works until told to stop. */
static void busy(ax_term_t arg)
{
    ax_term_t m;

    (void)arg;
    while (ax_receive(ax_atom("stop"), 0, &m, NULL) != 0)
        ax_consume_reductions(100);
}

/* Collects its heap n times, then waits. */
static void collector(ax_term_t arg)
{
    int64_t n = 0;
    ax_term_t m;

    ax_get_int(arg, &n);
    for (int64_t i = 0; i < n; i++) {
        ax_term_t t = ax_tuple(ax_heap(), 2, ax_int(ax_heap(), i), AX_NIL);

        ax_gc(&t, 1);
    }
    ax_receive(ax_atom("never"), AX_INFINITY, &m, NULL);
}

Test(node, process_list_by_rate_and_gcs)
{
    ax_term_t worker;
    ax_term_t gcer;
    ax_term_t r;
    ax_term_t rows;
    int64_t rate = -1;
    int64_t prev = INT64_MAX;

    cr_assert_eq(ax_spawn(busy, ax_atom("none"), &worker), 0);
    cr_assert_eq(ax_spawn(collector, ax_int(h, 50), &gcer), 0);
    /* The first request sorted by rate has nothing to compare with. */
    r = ok(rq("{processes, #{sort => reds_per_s, limit => 3}}."));
    rows = ax_map_get(r, ax_atom("rows"));
    is(ax_map_get(ax_head(rows), ax_atom("reds_per_s")), "0");
    /* The next: the worker did the most since. */
    for (int tries = 0; rate <= 0; tries++) {
        cr_assert_lt(tries, 100);
        r = ok(rq("{processes, #{sort => reds_per_s, limit => 3}}."));
        rows = ax_map_get(r, ax_atom("rows"));
        cr_assert_eq(ax_map_get(ax_head(rows), ax_atom("pid")), worker);
        cr_assert_eq(ax_get_int(ax_map_get(ax_head(rows),
                                           ax_atom("reds_per_s")),
                                &rate),
                     0);
    }
    /* A list not sorted by rate does not carry it. */
    r = ok(rq("{processes, #{sort => pid, limit => 1}}."));
    cr_assert_eq(ax_map_get(ax_head(ax_map_get(r, ax_atom("rows"))),
                            ax_atom("reds_per_s")),
                 AX_NONE);
    ax_send(worker, ax_atom("stop"));
    /* By collections, most first; the collector has done 50 at least. */
    for (int tries = 0;; tries++) {
        int64_t gcs = 0;

        cr_assert_lt(tries, 500);
        r = ok(rq("{processes, #{sort => gcs, limit => 1}}."));
        rows = ax_map_get(r, ax_atom("rows"));
        ax_get_int(ax_map_get(ax_head(rows), ax_atom("gcs")), &gcs);
        if (ax_map_get(ax_head(rows), ax_atom("pid")) == gcer && gcs >= 50)
            break;
        cr_assert_eq(ax_client_next_event(c, h, 2, &r), AX_ETIMEOUT);
    }
    r = ok(rq("{processes, #{sort => gcs, limit => 10}}."));
    for (rows = ax_map_get(r, ax_atom("rows")); ax_is_cons(rows);
         rows = ax_tail(rows)) {
        int64_t gcs = 0;

        ax_get_int(ax_map_get(ax_head(rows), ax_atom("gcs")), &gcs);
        cr_assert_leq(gcs, prev);
        prev = gcs;
    }
    ax_exit_signal(gcer, ax_atom("kill"));
}

/* --- Garbage on the socket ------------------------------------------------ */

static int raw_connect(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    cr_assert_geq(fd, 0);
    cr_assert_lt(strlen(sock), sizeof(a.sun_path));
    memcpy(a.sun_path, sock, strlen(sock) + 1);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Reads until the node closes fd; true if it closed it. */
static bool closed_by_node(int fd)
{
    struct timeval tv = {.tv_sec = 5};
    char buf[256];
    ssize_t n;

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        ;
    close(fd);
    return n == 0;
}

static void write_all(int fd, const void *buf, size_t len)
{
    cr_assert_eq(write(fd, buf, len), (ssize_t)len);
}

Test(node, garbage_frames_leave_the_node_serving)
{
    static const uint8_t random_bytes[] = {0x13, 0x37, 0xde, 0xad, 0xbe,
                                           0xef, 0x00, 0x42, 0x99, 0x01};
    static const uint8_t oversized[] = {0x7f, 0xff, 0xff, 0xff, 131};
    static const uint8_t bad_etf[] = {0, 0, 0, 3, 131, 200, 1};
    static const uint8_t empty[] = {0, 0, 0, 0};
    static const uint8_t not_hello[] = {0, 0, 0, 5, 131, 100, 0, 1, 'x'};
    int fd;

    fd = raw_connect();
    write_all(fd, random_bytes, sizeof(random_bytes));
    cr_assert(closed_by_node(fd));
    fd = raw_connect();
    write_all(fd, oversized, sizeof(oversized));
    cr_assert(closed_by_node(fd));
    fd = raw_connect();
    write_all(fd, bad_etf, sizeof(bad_etf));
    cr_assert(closed_by_node(fd));
    fd = raw_connect();
    write_all(fd, empty, sizeof(empty));
    cr_assert(closed_by_node(fd));
    fd = raw_connect();
    write_all(fd, not_hello, sizeof(not_hello) - 1); /* truncated */
    close(fd);                                        /* and gone */
    fd = raw_connect();
    write_all(fd, not_hello, sizeof(not_hello));
    cr_assert(closed_by_node(fd));
    is(rq("ping."), "{ok,pong}");
}

Test(node, a_client_vanishing_mid_request_ends_its_session)
{
    ax_client_t *other = NULL;
    ax_term_t shell;
    ax_term_t ref;
    ax_term_t ev;

    cr_assert_eq(ax_client_connect(sock, "sesame", AX_NONE, &other), 0);
    shell = ax_client_shell(other);
    cr_assert_neq(shell, ax_client_shell(c));
    ref = ok(rq1("{monitor, '$1'}.", shell));
    ax_client_close(other);
    ev = ax_tuple_get(next_event(), 1);
    cr_assert(ax_is_record(ev, ax_atom("DOWN"), 5));
    cr_assert(ax_equal_exact(ax_tuple_get(ev, 1), ref));
    is(ax_tuple_get(ev, 4), "killed");
    is(rq("ping."), "{ok,pong}");
}

/* --- The node going away -------------------------------------------------- */

Test(node_stop, a_client_sees_the_node_go, .timeout = 60)
{
    ax_node_opts_t no = {.schedulers = 1};
    ax_listen_opts_t lo = {.name = "gone", .cookie = "sesame"};
    ax_term_t r;

    h = ax_heap_new();
    mod_dir_make(dir, "node-stop");
    lo.dir = dir;
    cr_assert_eq(ax_node_listen(&lo), AX_ESTATE, "no node yet");
    cr_assert_eq(ax_node_start(&no), 0);
    lo.name = "bad/name";
    cr_assert_eq(ax_node_listen(&lo), AX_EINVAL);
    lo.name = "gone";
    cr_assert_eq(ax_node_listen(&lo), 0);
    snprintf(sock, sizeof(sock), "%s/gone.sock", dir);
    cr_assert_eq(ax_client_connect("gone/", "sesame", AX_NONE, &c),
                 AX_ENOCONN);
    cr_assert_eq(ax_client_connect(sock, "sesame", AX_NONE, &c), 0);
    cr_assert_eq(ax_node_stop(), 0);
    cr_assert_eq(ax_client_request(c, h, ax_atom("ping"), WAIT_MS, &r),
                 AX_ENOCONN);
    cr_assert_eq(ax_client_next_event(c, h, 0, &r), AX_ENOCONN);
    ax_client_close(c);
    cr_assert_eq(access(sock, F_OK), -1);
    ax_heap_free(h);
    mod_dir_remove(dir);
}
