/*
 * v_system.c - the System view: the node's counters from `stats`, with
 * each scheduler's utilisation now (a bar) and over the last samples (a
 * sparkline: HISTORY samples, two minutes at the default 1 s), and rates
 * per second from the difference of two successive samples.
 *
 * Utilisation is computed here from each scheduler's busy_ns over the
 * wall time between samples, not taken from the node's own figure (which
 * is since anyone's last call, so two observers would halve each
 * other's windows).
 */
#include "obs.h"

#include <stdio.h>
#include <string.h>

#define SCHED_MAX 256
#define HISTORY 120

enum counter { C_REDS, C_MSGS, C_GCS, C_SPAWNS, C_EXITS, C_CRASHES,
               C_RESTARTS, NCOUNTERS };

static const char *const counter_keys[NCOUNTERS] = {
    "reductions", "messages", "gcs", "spawns", "exits", "crash_log_written",
    "restarts"};
static const char *const counter_names[NCOUNTERS] = {
    "reductions", "messages", "GCs", "spawns", "exits", "crashes",
    "restarts"};

static struct system {
    bool have;                    /* a sample was taken */
    uint64_t at_ns;
    unsigned nsched;
    int64_t busy[SCHED_MAX];
    double util[SCHED_MAX][HISTORY];
    size_t nhist;
    int64_t runq[SCHED_MAX];
    int64_t counters[NCOUNTERS];
    double rates[NCOUNTERS];
    bool has_restarts;
    int64_t processes, process_limit, uptime_ms, atoms, atom_limit, rss;
    int64_t heap_bytes, binary_bytes, code_bytes, atom_bytes;
    int64_t stacks, log_written, log_queued, log_dropped;
    bool log_failing;
    char node[64];
} S;

static void system_open(struct obs *o)
{
    (void)o;
    memset(&S, 0, sizeof(S));
}

static void sample_scheds(ax_term_t list, double secs)
{
    unsigned i = 0;

    if (S.nhist == HISTORY) {
        for (unsigned s = 0; s < SCHED_MAX; s++)
            memmove(S.util[s], S.util[s] + 1, (HISTORY - 1) * sizeof(double));
        S.nhist--;
    }
    for (; ax_is_cons(list) && i < SCHED_MAX; list = ax_tail(list), i++) {
        ax_term_t m = ax_head(list);
        int64_t busy = m_int(m, "busy_ns");
        double u = secs > 0 && S.have
                       ? (double)(busy - S.busy[i]) / (secs * 1e9)
                       : m_float(m, "utilisation");

        S.util[i][S.nhist] = u < 0 ? 0 : u > 1 ? 1 : u;
        S.busy[i] = busy;
        S.runq[i] = m_int(m, "run_queue");
    }
    S.nsched = i;
    S.nhist++;
}

static int system_refresh(struct obs *o)
{
    uint64_t now = obs_now_ns();
    double secs = S.have ? (double)(now - S.at_ns) / 1e9 : 0;
    ax_term_t st;
    int err = obs_req(o, &st, "stats");

    if (err)
        return err;
    for (int c = 0; c < NCOUNTERS; c++) {
        int64_t v = m_int(st, counter_keys[c]);

        /* A node attached again starts its counters afresh. */
        S.rates[c] = secs > 0 && v >= S.counters[c]
                         ? (double)(v - S.counters[c]) / secs
                         : 0;
        S.counters[c] = v;
    }
    S.has_restarts = ax_map_get(st, ax_atom("restarts")) != AX_NONE;
    sample_scheds(ax_map_get(st, ax_atom("scheduler_stats")), secs);
    S.processes = m_int(st, "processes");
    S.process_limit = m_int(st, "process_limit");
    S.uptime_ms = m_int(st, "uptime_ms");
    S.atoms = m_int(st, "atoms");
    S.atom_limit = m_int(st, "atom_limit");
    S.rss = m_int(st, "rss_bytes");
    S.heap_bytes = m_int(st, "heap_bytes");
    S.binary_bytes = m_int(st, "binary_bytes");
    S.code_bytes = m_int(st, "code_bytes");
    S.atom_bytes = m_int(st, "atom_bytes");
    S.stacks = m_int(st, "stacks");
    S.log_written = m_int(st, "crash_log_written");
    S.log_queued = m_int(st, "crash_log_queued");
    S.log_dropped = m_int(st, "crash_log_dropped");
    S.log_failing = ax_map_get(st, ax_atom("crash_log_failing")) ==
                    ax_atom("true");
    m_text(st, "node", S.node, sizeof(S.node));
    S.at_ns = now;
    S.have = true;
    return 0;
}

static void uptime_text(int64_t ms, char *buf, size_t size)
{
    int64_t s = ms / 1000;

    snprintf(buf, size, "%lldd %02lld:%02lld:%02lld", (long long)(s / 86400),
             (long long)(s / 3600 % 24), (long long)(s / 60 % 60),
             (long long)(s % 60));
}

static void draw_memory(struct frame *f)
{
    char rss[16];
    char heaps[16];
    char bins[16];
    char code[16];
    char atoms[16];

    human_bytes((double)S.rss, rss, sizeof(rss));
    human_bytes((double)S.heap_bytes, heaps, sizeof(heaps));
    human_bytes((double)S.binary_bytes, bins, sizeof(bins));
    human_bytes((double)S.code_bytes, code, sizeof(code));
    human_bytes((double)S.atom_bytes, atoms, sizeof(atoms));
    fr_line(f);
    fr_add(f, R_NORMAL, " memory: total (RSS) %s   process heaps %s   "
           "binaries %s   code %s", rss, heaps, bins, code);
    fr_line(f);
    fr_add(f, R_NORMAL, " atoms: %lld / %lld (%s)", (long long)S.atoms,
           (long long)S.atom_limit, atoms);
}

static void draw_node(struct frame *f)
{
    char up[32];

    uptime_text(S.uptime_ms, up, sizeof(up));
    fr_line(f);
    fr_add(f, R_HEADER, " Node %s", S.node);
    fr_fill(f, R_HEADER);
    fr_line(f);
    fr_add(f, R_NORMAL, " uptime %s   schedulers %u   processes %lld / %lld"
           "   stacks %lld", up, S.nsched, (long long)S.processes,
           (long long)S.process_limit, (long long)S.stacks);
    draw_memory(f);
}

static void draw_rates(struct frame *f)
{
    fr_line(f);
    fr_line(f);
    fr_add(f, R_HEADER, " Rates per second");
    fr_fill(f, R_HEADER);
    for (int c = 0; c < NCOUNTERS; c++) {
        char r[16];
        char t[16];

        if (c % 4 == 0)
            fr_line(f);
        human(S.rates[c], r, sizeof(r));
        human((double)S.counters[c], t, sizeof(t));
        if (c == C_RESTARTS && !S.has_restarts)
            snprintf(r, sizeof(r), "n/a");
        fr_add(f, c == C_CRASHES && S.rates[c] > 0 ? R_BAD : R_NORMAL,
               " %-10s %7s/s (%s)  ", counter_names[c], r, t);
    }
    fr_line(f);
    fr_add(f, R_NORMAL, " crash log: %lld written, %lld queued, ",
           (long long)S.log_written, (long long)S.log_queued);
    fr_add(f, S.log_dropped ? R_BAD : R_GOOD, "%lld dropped",
           (long long)S.log_dropped);
    if (S.log_failing)
        fr_add(f, R_BAD, "  FAILING (the database cannot be written)");
}

static void draw_scheds(struct obs *o, struct frame *f, int rows, int cols)
{
    int bar = cols > 100 ? 30 : 20;
    int spark = cols - bar - 34;

    fr_line(f);
    fr_line(f);
    fr_add(f, R_HEADER, " Schedulers: utilisation now, and the last %zu "
           "samples", S.nhist);
    fr_fill(f, R_HEADER);
    for (unsigned i = 0; i < S.nsched && rows-- > 0; i++) {
        double u = S.nhist ? S.util[i][S.nhist - 1] : 0;

        fr_line(f);
        fr_add(f, R_NORMAL, " %3u ", i + 1);
        fr_bar(f, u, bar, o->utf8);
        fr_add(f, R_NORMAL, " %5.1f%% rq %-5lld ", u * 100,
               (long long)S.runq[i]);
        if (spark > 4)
            fr_spark(f, S.util[i], S.nhist, spark, o->utf8);
    }
}

static void system_draw(struct obs *o, struct frame *f, int rows, int cols)
{
    if (!S.have) {
        fr_line(f);
        fr_add(f, R_DIM, " waiting for the node's counters...");
        return;
    }
    draw_node(f);
    draw_rates(f);
    draw_scheds(o, f, rows - 13, cols);
}

static const struct keyhelp system_help[] = {
    {NULL, NULL},
};

const struct view view_system = {
    .name = "System",
    .tab = true,
    .needs_node = true,
    .open = system_open,
    .refresh = system_refresh,
    .draw = system_draw,
    .help = system_help,
};
