/*
 * remote.c - the shell language's backend over the control socket
 * (remote.h). Each operation builds one request term, sends it, and turns
 * the {ok, V} or {error, R} reply into a result or an AX_E* code (with R,
 * where it says more, as the reason term).
 */
#include "remote.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_SLICE_MS 50 /* how often a wait for a message looks at ^C */
#define SELF_WAIT_MS 2000 /* for the new pid of a shell that died */

static ax_term_t A(const char *name)
{
    return ax_atom(name);
}

int remote_init(struct remote *r, ax_client_t *c)
{
    memset(r, 0, sizeof(*r));
    r->c = c;
    r->parked_heap = ax_heap_new();
    return r->parked_heap ? 0 : AX_ENOMEM;
}

void remote_destroy(struct remote *r)
{
    ax_heap_free(r->exit_heap);
    free(r->parked);
    ax_heap_free(r->parked_heap);
    r->parked = NULL;
    r->parked_heap = NULL;
}

/* --- Events -------------------------------------------------------------- */

static int park(struct remote *r, ax_term_t msg)
{
    if (r->nparked == r->parked_cap) {
        size_t cap = r->parked_cap ? 2 * r->parked_cap : 16;
        ax_term_t *p = realloc(r->parked, cap * sizeof(*p));

        if (!p)
            return AX_ENOMEM;
        r->parked = p;
        r->parked_cap = cap;
    }
    r->parked[r->nparked++] = ax_copy(r->parked_heap, msg);
    return 0;
}

/* The oldest parked message, copied onto h; false if none. Once all are
 * taken their heap starts afresh. */
static bool unpark(struct remote *r, ax_heap_t *h, ax_term_t *msg)
{
    if (r->parked_first == r->nparked)
        return false;
    *msg = ax_copy(h, r->parked[r->parked_first++]);
    if (r->parked_first == r->nparked) {
        ax_heap_t *fresh = ax_heap_new();

        r->parked_first = r->nparked = 0;
        if (fresh) {
            ax_heap_free(r->parked_heap);
            r->parked_heap = fresh;
        }
    }
    return true;
}

/* Handles one event: parks a message, keeps a shell_exit's reason (a
 * later one replaces it: the shell died last of that). */
static int handle_event(struct remote *r, ax_term_t ev)
{
    if (ax_is_record(ev, A("message"), 2))
        return park(r, ax_tuple_get(ev, 1));
    if (ax_is_record(ev, A("shell_exit"), 3) && r->exit_told) {
        r->exit_told = false;
        return 0;
    }
    if (ax_is_record(ev, A("shell_exit"), 3)) {
        ax_heap_t *h = ax_heap_new();

        if (!h)
            return AX_ENOMEM;
        ax_heap_free(r->exit_heap);
        r->exit_heap = h;
        r->exit_reason = ax_copy(h, ax_tuple_get(ev, 1));
    }
    return 0;
}

/* SHELL_EEXIT with the kept reason on h, if a shell_exit came; else 0. */
static int take_exit(struct remote *r, ax_heap_t *h, ax_term_t *out)
{
    if (!r->exit_heap)
        return 0;
    *out = ax_copy(h, r->exit_reason);
    ax_heap_free(r->exit_heap);
    r->exit_heap = NULL;
    return SHELL_EEXIT;
}

/* Waits up to ms for one event and handles it; AX_ETIMEOUT if none. */
static int next_event(struct remote *r, ax_heap_t *h, int64_t ms)
{
    ax_term_t ev;
    int err = ax_client_next_event(r->c, h, ms, &ev);

    if (err == AX_ENOCONN)
        r->lost = true;
    return err ? err : handle_event(r, ev);
}

/* Handles what arrived, without waiting. */
static int drain(struct remote *r)
{
    ax_heap_t *h = ax_heap_new();
    int err;

    if (!h)
        return AX_ENOMEM;
    while ((err = next_event(r, h, 0)) == 0)
        ;
    ax_heap_free(h);
    return err == AX_ETIMEOUT ? 0 : err;
}

int remote_poll(struct remote *r, FILE *newline)
{
    int err = drain(r);
    bool told = r->exit_heap && r->sh;

    if (told && newline)
        fputc('\n', newline);
    if (told)
        shell_exit_signal(r->sh, r->exit_reason);
    ax_heap_free(r->exit_heap);
    r->exit_heap = NULL;
    return err ? err : told;
}

/* --- Requests ----------------------------------------------------------- */

/* The code whose reason atom is `why`, or 0. */
static int code_of(ax_term_t why)
{
    for (int e = -1; e > AX_ERRNO_LAST_; e--)
        if (ax_atom(ax_err_reason(e)) == why)
            return e;
    return 0;
}

/* The code and reason term of an {error, Why} reply. */
static int error_of(struct remote *r, ax_term_t why, ax_term_t *out)
{
    int e;

    if (why == A("interrupted"))
        return SHELL_EINTR;
    if (ax_is_record(why, A("shell_exit"), 2)) {
        /* The shell died during the request: its shell_exit event, yet
         * to come, tells nothing more. */
        r->exit_told = true;
        *out = ax_tuple_get(why, 1);
        return SHELL_EEXIT;
    }
    /* {exit, R} is AX_EEXITED's, {badfile, Text} AX_EBADMODULE's... */
    if (ax_is_tuple(why) && ax_tuple_size(why) == 2 &&
        (e = code_of(ax_tuple_get(why, 0)))) {
        *out = ax_tuple_get(why, 1);
        return e;
    }
    if ((e = code_of(why)))
        return e;
    *out = why;
    return AX_EBADARG;
}

static int request(struct remote *r, ax_heap_t *h, ax_term_t req,
                   ax_term_t *out)
{
    ax_term_t res;
    int err;

    atomic_store(&r->busy, true);
    err = ax_client_request(r->c, h, req, AX_INFINITY, &res);
    atomic_store(&r->busy, false);
    if (err == AX_ENOCONN)
        r->lost = true;
    if (!err)
        err = drain(r);
    if (!err)
        err = take_exit(r, h, out); /* the shell died: no result */
    if (err)
        return err;
    if (ax_is_record(res, A("ok"), 2)) {
        *out = ax_tuple_get(res, 1);
        return 0;
    }
    if (ax_is_record(res, A("error"), 2))
        return error_of(r, ax_tuple_get(res, 1), out);
    return AX_EPROTO;
}

/* The requests of no, one, two and three arguments. */
static int req0(void *ctx, ax_heap_t *h, const char *name, ax_term_t *out)
{
    return request(ctx, h, A(name), out);
}

static int req1(void *ctx, ax_heap_t *h, const char *name, ax_term_t a,
                ax_term_t *out)
{
    return request(ctx, h, ax_tuple(h, 2, A(name), a), out);
}

static int req2(void *ctx, ax_heap_t *h, const char *name, ax_term_t a,
                ax_term_t b, ax_term_t *out)
{
    return request(ctx, h, ax_tuple(h, 3, A(name), a, b), out);
}

static int req3(void *ctx, ax_heap_t *h, const char *name, ax_term_t a,
                ax_term_t b, ax_term_t c, ax_term_t *out)
{
    return request(ctx, h, ax_tuple(h, 4, A(name), a, b, c), out);
}

/* The operations that are one request each, its arguments as given. */
#define OP0(fn, name)                                                     \
    static int fn(void *ctx, ax_heap_t *h, ax_term_t *out)                \
    {                                                                     \
        return req0(ctx, h, name, out);                                   \
    }
#define OP1(fn, name)                                                     \
    static int fn(void *ctx, ax_heap_t *h, ax_term_t a, ax_term_t *out)   \
    {                                                                     \
        return req1(ctx, h, name, a, out);                                \
    }
#define OP2(fn, name)                                                     \
    static int fn(void *ctx, ax_heap_t *h, ax_term_t a, ax_term_t b,      \
                  ax_term_t *out)                                         \
    {                                                                     \
        return req2(ctx, h, name, a, b, out);                             \
    }
#define OP3(fn, name)                                                     \
    static int fn(void *ctx, ax_heap_t *h, ax_term_t a, ax_term_t b,      \
                  ax_term_t c, ax_term_t *out)                            \
    {                                                                     \
        return req3(ctx, h, name, a, b, c, out);                          \
    }

OP3(r_spawn, "spawn")
OP2(r_send, "send")
OP1(r_link, "link")
OP1(r_unlink, "unlink")
OP1(r_monitor, "monitor")
OP1(r_demonitor, "demonitor")
OP2(r_exit, "exit")
OP1(r_trap_exit, "trap_exit")
OP2(r_register, "register")
OP1(r_unregister, "unregister")
OP1(r_whereis, "whereis")
OP1(r_is_alive, "is_alive")
OP0(r_registered, "registered")
OP1(r_process_info, "process_info")
OP3(r_call, "call")
OP2(r_cast, "cast")
OP2(r_replace_state, "replace_state")
OP1(r_compile, "compile")
OP1(r_load, "load")
OP1(r_purge, "purge")
OP0(r_modules, "modules")
OP3(r_start_supervisor, "start_supervisor")
OP1(r_which_children, "which_children")
OP2(r_terminate_child, "terminate_child")

static int r_self(void *ctx, ax_heap_t *h, ax_term_t *out)
{
    struct remote *r = ctx;

    /* A request saw the shell die: its new pid comes with the event. */
    for (int ms = 0; r->exit_told && ms < SELF_WAIT_MS; ms += WAIT_SLICE_MS)
        if (next_event(r, h, WAIT_SLICE_MS) == AX_ENOCONN)
            return AX_ENOCONN;
    *out = ax_client_shell(r->c);
    return 0;
}

static int r_next_message(void *ctx, ax_heap_t *h, ax_term_t timeout,
                          ax_term_t *out)
{
    struct remote *r = ctx;
    int64_t left = -1;
    int err;

    if (ax_get_int(timeout, &left) == 0 && left < 0)
        left = 0;
    for (;;) {
        int64_t ms = left < 0 || left > WAIT_SLICE_MS ? WAIT_SLICE_MS : left;

        if (unpark(r, h, out))
            return 0;
        if (r->interrupted)
            return SHELL_EINTR;
        if (left == 0)
            return AX_ETIMEOUT;
        err = next_event(r, h, ms);
        if (err && err != AX_ETIMEOUT)
            return err;
        if ((err = take_exit(r, h, out)))
            return err;
        if (left > 0)
            left -= ms; /* an event early counts whole: only a bound */
    }
}

static int r_get_state(void *ctx, ax_heap_t *h, ax_term_t server,
                       ax_term_t *out)
{
    return req2(ctx, h, "get_state", server, ax_int(h, AX_CALL_TIMEOUT),
                out);
}

/* A supervisor's {ok, Pid} (or {ok, Pid, Info}) as Pid, its {error, R}
 * as an error with R. */
static int child_pid(int err, ax_term_t *out)
{
    ax_term_t r = *out;

    if (err)
        return err;
    if (ax_is_tuple(r) && ax_tuple_size(r) >= 2 &&
        ax_tuple_get(r, 0) == A("ok")) {
        *out = ax_tuple_get(r, 1);
        return 0;
    }
    if (ax_is_record(r, A("error"), 2)) {
        *out = ax_tuple_get(r, 1);
        return AX_EBADARG;
    }
    return 0;
}

static int r_start_child(void *ctx, ax_heap_t *h, ax_term_t sup,
                         ax_term_t spec, ax_term_t *out)
{
    return child_pid(req2(ctx, h, "start_child", sup, spec, out), out);
}

static int r_restart_child(void *ctx, ax_heap_t *h, ax_term_t sup,
                           ax_term_t id, ax_term_t *out)
{
    return child_pid(req2(ctx, h, "restart_child", sup, id, out), out);
}

/* list in the other order, onto h. */
static ax_term_t reverse(ax_heap_t *h, ax_term_t list)
{
    ax_term_t out = AX_NIL;

    for (; ax_is_cons(list); list = ax_tail(list))
        out = ax_cons(h, ax_head(list), out);
    return out;
}

/* fn of each element of list, in order, onto h; AX_NONE leaves one out. */
static ax_term_t map_list(ax_heap_t *h, ax_term_t list,
                          ax_term_t (*fn)(ax_heap_t *h, ax_term_t t))
{
    ax_term_t rev = AX_NIL;

    for (; ax_is_cons(list); list = ax_tail(list)) {
        ax_term_t t = fn(h, ax_head(list));

        if (t != AX_NONE)
            rev = ax_cons(h, t, rev);
    }
    return reverse(h, rev);
}

/* A root of the node's trees, #{id, pid, name, type, children}, as the
 * language draws it: named by its registered name. */
static ax_term_t tree_node(ax_heap_t *h, ax_term_t t)
{
    ax_term_t name = ax_map_get(t, A("name"));

    if (ax_map_get(t, A("id")) == A("undefined"))
        t = ax_map_put(h, t, A("id"),
                       ax_is_atom(name) ? name : ax_map_get(t, A("pid")));
    return t;
}

static int r_tree(void *ctx, ax_heap_t *h, ax_term_t *out)
{
    ax_term_t trees;
    int err = req0(ctx, h, "tree", &trees);

    if (!err)
        *out = map_list(h, trees, tree_node);
    return err;
}

/* The shell's crashes(Filter) as the request's options: a pid, a name
 * or module (an atom), how many (an integer), or #{} for the recent. */
static ax_term_t crash_opts(ax_heap_t *h, ax_term_t filter)
{
    ax_term_t key = A("limit");

    if (ax_is_map(filter))
        return filter;
    if (ax_is_pid(filter))
        key = A("pid");
    else if (ax_is_atom(filter))
        key = A("who");
    return ax_map_from(h, 1, &key, &filter);
}

/* A column's text read back as a term, or the text itself. */
static ax_term_t term_of(ax_heap_t *h, ax_term_t text)
{
    size_t len = 0;
    const uint8_t *s = ax_binary_data(text, &len);
    ax_term_t t;

    if (s && ax_parse(h, (const char *)s, len, &t, NULL) == 0)
        return t;
    return text;
}

/* A report as the shell shows it: #{time => Text, pid, name, reason}. */
static ax_term_t crash_row(ax_heap_t *h, ax_term_t r)
{
    ax_term_t k[4] = {A("time"), A("pid"), A("name"), A("reason")};
    ax_term_t v[4];
    int64_t us = 0;
    time_t secs;
    struct tm tm;
    char when[32] = "";

    if (ax_get_int(ax_map_get(r, A("time")), &us) == 0) {
        secs = (time_t)(us / 1000000);
        if (localtime_r(&secs, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    }
    v[0] = ax_string(h, when);
    v[1] = term_of(h, ax_map_get(r, A("pid")));
    v[2] = ax_map_get(r, A("name"));
    v[3] = term_of(h, ax_map_get(r, A("reason")));
    return ax_map_from(h, 4, k, v);
}

static int r_crashes(void *ctx, ax_heap_t *h, ax_term_t filter,
                     ax_term_t *out)
{
    ax_term_t rows;
    int err = req1(ctx, h, "crashes", crash_opts(h, filter), &rows);

    if (!err)
        *out = map_list(h, rows, crash_row);
    return err;
}

/* The node's row keys and the language's, in pairs. */
static const char *const row_keys[][2] = {
    {"pid", "pid"},
    {"name", "registered_name"},
    {"initial_call", "initial_call"},
    {"current", "current"},
    {"heap", "heap"},
    {"reductions", "reductions"},
    {"mailbox", "message_queue_len"},
    {"memory", "memory"},
    {"status", "status"},
};

#define NROW_KEYS (sizeof(row_keys) / sizeof(row_keys[0]))

static ax_term_t row_of(ax_heap_t *h, ax_term_t r)
{
    ax_term_t keys[NROW_KEYS];
    ax_term_t vals[NROW_KEYS];

    for (size_t i = 0; i < NROW_KEYS; i++) {
        keys[i] = A(row_keys[i][1]);
        vals[i] = ax_map_get(r, A(row_keys[i][0]));
        if (vals[i] == AX_NONE)
            vals[i] = A("undefined");
    }
    return ax_map_from(h, NROW_KEYS, keys, vals);
}

/* Every process (or the registered ones, for opts #{registered => true}),
 * in pid order, a page at a time. */
static int r_process_list(void *ctx, ax_heap_t *h, ax_term_t opts,
                          ax_term_t *out)
{
    bool named = ax_is_map(opts) &&
                 ax_map_get(opts, A("registered")) == A("true");
    ax_term_t rev = AX_NIL; /* the rows, newest first */
    int64_t offset = 0;
    int64_t total = 1;

    while (offset < total) {
        ax_term_t q = ax_map_from(
            h, 4,
            (ax_term_t[]){A("sort"), A("order"), A("offset"), A("limit")},
            (ax_term_t[]){A("pid"), A("asc"), ax_int(h, offset),
                          ax_int(h, 10000)});
        ax_term_t page;
        ax_term_t list;
        int err = req1(ctx, h, "processes", q, &page);

        if (err)
            return err;
        if (ax_get_int(ax_map_get(page, A("total")), &total) != 0)
            return AX_EPROTO;
        list = ax_map_get(page, A("rows"));
        if (!ax_is_list(list) || list == AX_NIL)
            break;
        for (; ax_is_cons(list); list = ax_tail(list), offset++) {
            ax_term_t name = ax_map_get(ax_head(list), A("name"));

            if (!named || (ax_is_atom(name) && name != AX_NIL))
                rev = ax_cons(h, row_of(h, ax_head(list)), rev);
        }
    }
    *out = reverse(h, rev);
    return 0;
}

static int r_observer(void *ctx, ax_heap_t *h, ax_term_t *out)
{
    struct remote *r = ctx;

    (void)h;
    *out = A("ok");
    return r->observer ? r->observer(r) : AX_ENOTSUP;
}

const struct shell_backend ax_remote_backend = {
    .self = r_self,
    .spawn = r_spawn,
    .send = r_send,
    .link = r_link,
    .unlink = r_unlink,
    .monitor = r_monitor,
    .demonitor = r_demonitor,
    .exit = r_exit,
    .trap_exit = r_trap_exit,
    .register_name = r_register,
    .unregister = r_unregister,
    .whereis = r_whereis,
    .is_alive = r_is_alive,
    .registered = r_registered,
    .process_list = r_process_list,
    .process_info = r_process_info,
    .next_message = r_next_message,
    .call = r_call,
    .cast = r_cast,
    .get_state = r_get_state,
    .replace_state = r_replace_state,
    .compile = r_compile,
    .load = r_load,
    .purge = r_purge,
    .modules = r_modules,
    .start_supervisor = r_start_supervisor,
    .which_children = r_which_children,
    .start_child = r_start_child,
    .terminate_child = r_terminate_child,
    .restart_child = r_restart_child,
    .tree = r_tree,
    .crashes = r_crashes,
    .observer = r_observer,
};
