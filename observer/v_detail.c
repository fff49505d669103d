/*
 * v_detail.c - one process (Enter on any process): its process_info, its
 * heap and collections, its links, monitors and monitors of it (Enter
 * follows one), the first messages of its mailbox (copied by the process,
 * bounded on the node: never a huge queue), its state if it is a server
 * (get_state, printed with bounds: never the whole of a huge state), and
 * its last crashes: of its supervisor's child id (the same child across
 * restarts), else of its registered name or module, or of its pid once
 * it is gone.
 */
#include "obs.h"

#include <ncursesw/curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITEMS 64
#define STATE_LINES 12
#define CRASHES 5
#define MESSAGES 10

struct item {
    char kind[16];
    char pid[40];
};

static struct detail {
    bool alive;
    char info[8][512];     /* the text lines of process_info */
    int ninfo;
    struct item items[ITEMS];
    int nitems;
    struct cursor cur;
    char msgs[MESSAGES][160];
    int nmsgs;
    int64_t msgs_total;
    char state[STATE_LINES][160];
    int nstate;
    char crashes[CRASHES][160];
    int ncrashes;
    char who[128];         /* whose crashes are shown; "" for the pid */
} D;

static void detail_open(struct obs *o)
{
    (void)o;
    memset(&D, 0, sizeof(D));
}

static void add_items(ax_term_t list, const char *kind)
{
    for (; ax_is_cons(list) && D.nitems < ITEMS; list = ax_tail(list)) {
        ax_term_t t = ax_head(list);

        if (ax_is_tuple(t)) /* a monitor: {process, Pid} */
            t = ax_tuple_get(t, 1);
        snprintf(D.items[D.nitems].kind, sizeof(D.items[0].kind), "%s", kind);
        term_text(t, D.items[D.nitems].pid, sizeof(D.items[0].pid));
        D.nitems++;
    }
}

static void info_lines(ax_term_t m)
{
    ax_term_t heap = ax_map_get(m, ax_atom("heap"));
    char a[96], b[96], c[64], d[64], e[32];

    D.ninfo = 0;
    m_text(m, "registered_name", a, sizeof(a));
    m_text(m, "status", b, sizeof(b));
    snprintf(D.info[D.ninfo++], sizeof(D.info[0]),
             " name %s   status %s   trap_exit %s", a[0] ? a : "-", b,
             ax_map_get(m, ax_atom("trap_exit")) == ax_atom("true") ? "true"
                                                                   : "false");
    m_text(m, "initial_call", a, sizeof(a));
    m_text(m, "current", b, sizeof(b));
    snprintf(D.info[D.ninfo++], sizeof(D.info[0]),
             " initial call %s   current %s", a, b);
    human((double)m_int(m, "reductions"), c, sizeof(c));
    human_bytes((double)m_int(m, "memory"), d, sizeof(d));
    snprintf(D.info[D.ninfo++], sizeof(D.info[0]),
             " reductions %s   mailbox %lld   memory %s", c,
             (long long)m_int(m, "message_queue_len"), d);
    human_bytes((double)m_int(heap, "heap_size") * 8, c, sizeof(c));
    human_bytes((double)m_int(heap, "old_heap_size") * 8, d, sizeof(d));
    human_bytes((double)m_int(heap, "offheap_bytes"), e, sizeof(e));
    snprintf(D.info[D.ninfo++], sizeof(D.info[0]),
             " heap %s (used %lld words)   old heap %s   off-heap %s", c,
             (long long)m_int(heap, "heap_used"), d, e);
    snprintf(D.info[D.ninfo++], sizeof(D.info[0]),
             " GCs: %lld minor, %lld major   last pause %.1f us   longest "
             "%.1f us   reclaimed %lld words",
             (long long)m_int(heap, "minor_gcs"),
             (long long)m_int(heap, "major_gcs"),
             (double)m_int(heap, "last_pause_ns") / 1000,
             (double)m_int(heap, "max_pause_ns") / 1000,
             (long long)m_int(heap, "words_reclaimed"));
}

/* The first messages of the mailbox, one line each, cut to the width. */
static void message_lines(struct obs *o, int width)
{
    ax_format_opts_t fo = {.max_depth = 6, .max_width = 16,
                           .max_chars = sizeof(D.msgs[0]) - 8};
    ax_term_t m;

    D.nmsgs = 0;
    D.msgs_total = 0;
    if (obs_req(o, &m, "{messages, %s, %d}", o->detail_pid, MESSAGES) != 0)
        return;
    D.msgs_total = m_int(m, "total");
    if (width < 20 || width > 150)
        width = width < 20 ? 20 : 150;
    for (ax_term_t l = ax_map_get(m, ax_atom("messages"));
         ax_is_cons(l) && D.nmsgs < MESSAGES; l = ax_tail(l)) {
        char *text = ax_format(ax_head(l), &fo, NULL);
        int i = D.nmsgs++;

        snprintf(D.msgs[i], sizeof(D.msgs[0]), " %3d %.*s", i + 1, width - 6,
                 text ? text : "?");
        free(text);
    }
}

/* The server's state, bounded, cut into lines of the screen's width. */
static void state_lines(struct obs *o, int width)
{
    ax_format_opts_t fo = {.max_depth = 8, .max_width = 32,
                           .max_chars = STATE_LINES * 150};
    ax_term_t st;
    char *text;
    size_t len;

    D.nstate = 0;
    o->quiet = true; /* not a server: no news */
    if (obs_req(o, &st, "{get_state, %s, 300}", o->detail_pid) != 0)
        return;
    text = ax_format(st, &fo, &len);
    if (width < 20 || width > 150)
        width = width < 20 ? 20 : 150;
    for (size_t at = 0; text && at < len && D.nstate < STATE_LINES;
         at += (size_t)width - 2)
        snprintf(D.state[D.nstate++], sizeof(D.state[0]), " %.*s",
                 width - 2, text + at);
    free(text);
}

/* The supervisor (among the first links) that has this process as a
 * child, and the child's id, as text; false if none does. */
static bool find_child(struct obs *o, ax_term_t info, char *sup, size_t ssize,
                       char *id, size_t isize)
{
    ax_term_t links = info != AX_NONE ? ax_map_get(info, ax_atom("links"))
                                      : AX_NIL;

    for (int n = 0; ax_is_cons(links) && n < 4; links = ax_tail(links), n++) {
        ax_term_t kids;

        term_text(ax_head(links), sup, ssize);
        o->quiet = true; /* a link that is no supervisor: no news */
        if (obs_req(o, &kids, "{which_children, %s}", sup) != 0)
            continue;
        for (; ax_is_cons(kids); kids = ax_tail(kids)) {
            char pid[48];

            term_text(ax_tuple_get(ax_head(kids), 1), pid, sizeof(pid));
            if (strcmp(pid, o->detail_pid) == 0) {
                term_text(ax_tuple_get(ax_head(kids), 0), id, isize);
                return true;
            }
        }
    }
    return false;
}

/* Its crash history: of its supervisor's child id (across restarts), or
 * of its name or module, or of its pid once it is gone. */
static int ask_crashes(struct obs *o, ax_term_t info, ax_term_t *list)
{
    char sup[48];
    char id[64];
    char who[64] = "";

    D.who[0] = '\0';
    if (D.alive && find_child(o, info, sup, sizeof(sup), id, sizeof(id))) {
        snprintf(D.who, sizeof(D.who), "child %s of %s", id, sup);
        return obs_req(o, list, "{crashes, #{supervisor => %s, child_id => "
                       "%s, limit => %d}}", sup, id, CRASHES);
    }
    if (D.alive) {
        m_text(info, "registered_name", who, sizeof(who));
        if (!who[0])
            term_text(ax_tuple_get(ax_map_get(info, ax_atom("initial_call")),
                                   0), who, sizeof(who));
    }
    if (who[0]) {
        snprintf(D.who, sizeof(D.who), "%s", who);
        return obs_req(o, list, "{crashes, #{who => '%s', limit => %d}}", who,
                       CRASHES);
    }
    return obs_req(o, list, "{crashes, #{pid => %s, limit => %d}}",
                   o->detail_pid, CRASHES);
}

static void crash_lines(struct obs *o, ax_term_t info)
{
    ax_term_t list;
    int err = ask_crashes(o, info, &list);

    D.ncrashes = 0;
    for (; !err && ax_is_cons(list) && D.ncrashes < CRASHES;
         list = ax_tail(list)) {
        char pid[32];
        char reason[120];

        m_text(ax_head(list), "pid", pid, sizeof(pid));
        m_text(ax_head(list), "reason", reason, sizeof(reason));
        snprintf(D.crashes[D.ncrashes++], sizeof(D.crashes[0]),
                 " #%lld %s %s", (long long)m_int(ax_head(list), "id"), pid,
                 reason);
    }
}

static int detail_refresh(struct obs *o)
{
    ax_term_t m;
    int err;

    o->quiet = true;
    err = obs_req(o, &m, "{process_info, %s}", o->detail_pid);

    D.alive = err == 0;
    if (!D.alive)
        o->status_until = 0; /* said in the title */
    if (err == AX_ENOCONN)
        return err;
    D.nitems = 0;
    if (D.alive) {
        info_lines(m);
        add_items(ax_map_get(m, ax_atom("links")), "link");
        add_items(ax_map_get(m, ax_atom("monitors")), "monitors");
        add_items(ax_map_get(m, ax_atom("monitored_by")), "monitored by");
        message_lines(o, o->width);
        state_lines(o, o->width);
    } else {
        D.ninfo = D.nstate = D.nmsgs = 0;
        D.msgs_total = 0;
    }
    D.cur.n = D.nitems;
    cursor_fix(&D.cur, ITEMS);
    crash_lines(o, D.alive ? m : AX_NONE);
    return 0;
}

static void title(struct frame *f, const char *t)
{
    fr_line(f);
    fr_add(f, R_HEADER, " %s", t);
    fr_fill(f, R_HEADER);
}

static void detail_draw(struct obs *o, struct frame *f, int rows, int cols)
{
    (void)rows;
    (void)cols;
    fr_line(f);
    fr_add(f, R_TITLE, " Process %s %s", o->detail_pid,
           D.alive ? "" : "(not running)");
    fr_fill(f, R_TITLE);
    for (int i = 0; i < D.ninfo; i++) {
        fr_line(f);
        fr_add(f, R_NORMAL, "%s", D.info[i]);
    }
    title(f, "Links and monitors (Enter opens)");
    for (int i = 0; i < D.nitems; i++) {
        bool sel = i == D.cur.sel && !o->batch;

        fr_line(f);
        fr_add(f, sel ? R_SELECTED : R_NORMAL, " %-13s %s", D.items[i].kind,
               D.items[i].pid);
        if (sel)
            fr_fill(f, R_SELECTED);
    }
    if (D.alive) {
        char t[80];

        snprintf(t, sizeof(t), "Mailbox: the first %d of %lld messages",
                 D.nmsgs, (long long)D.msgs_total);
        title(f, t);
    }
    for (int i = 0; i < D.nmsgs; i++) {
        fr_line(f);
        fr_add(f, R_NORMAL, "%s", D.msgs[i]);
    }
    if (D.nstate) {
        title(f, "State (bounded)");
        for (int i = 0; i < D.nstate; i++) {
            fr_line(f);
            fr_add(f, R_NORMAL, "%s", D.state[i]);
        }
    }
    if (D.who[0]) {
        char t[200];

        snprintf(t, sizeof(t), "Last crashes of %s (across restarts)",
                 D.who);
        title(f, t);
    } else {
        title(f, "Crashes of this pid");
    }
    for (int i = 0; i < D.ncrashes; i++) {
        fr_line(f);
        fr_add(f, R_BAD, "%s", D.crashes[i]);
    }
}

static bool detail_key(struct obs *o, int key)
{
    if (cursor_key(&D.cur, key, ITEMS))
        return true;
    if ((key == '\n' || key == '\r' || key == KEY_ENTER) && D.nitems) {
        char pid[40];

        snprintf(pid, sizeof(pid), "%s", D.items[D.cur.sel].pid);
        obs_open_process(o, pid);
        return true;
    }
    return false;
}

static bool detail_selected(struct obs *o, char *pid, size_t size)
{
    snprintf(pid, size, "%s", o->detail_pid);
    return D.alive;
}

static const struct keyhelp detail_help[] = {
    {"Up Down", "choose a link or monitor"},
    {"Enter", "open the process it names"},
    {NULL, NULL},
};

const struct view view_detail = {
    .name = "Process",
    .needs_node = true,
    .open = detail_open,
    .refresh = detail_refresh,
    .draw = detail_draw,
    .key = detail_key,
    .selected = detail_selected,
    .help = detail_help,
};
