/*
 * v_report.c - one crash report whole, in a pager (Enter in Crashes):
 * every column of its row, from the node ({crash, Id}) or the database,
 * a field a line and multi-line fields (the backtrace) indented below
 * their name. Up/Down/PgUp/PgDn/Home/End scroll; Esc goes back.
 */
#include "obs.h"

#include <ncursesw/curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINES_MAX 4000
#define LINE_MAX 240

/* The order fields are shown in; others follow. */
static const char *const order[] = {
    "id", "time", "node", "pid", "name", "module", "version", "reason",
    "last_message", "state", "mailbox_len", "mailbox", "links", "monitors",
    "ancestors", "supervisor", "child_id", "restarts", "reductions",
    "heap_words", "backtrace", "dump", NULL};

static struct report {
    char (*lines)[LINE_MAX];
    int n;
    struct cursor cur;
    int page;
    int64_t id;       /* the report the lines are of */
} RP;

static void report_close(struct obs *o)
{
    (void)o;
    free(RP.lines);
    memset(&RP, 0, sizeof(RP));
}

static void report_open(struct obs *o)
{
    report_close(o);
    RP.lines = calloc(LINES_MAX, LINE_MAX);
    RP.page = 20;
}

static void add_line(const char *indent, const char *a, const char *b)
{
    if (RP.lines && RP.n < LINES_MAX)
        snprintf(RP.lines[RP.n++], LINE_MAX, "%s%s%s", indent, a, b);
}

/* Microseconds since the epoch as a local date and time, into buf;
 * false if value is not a number. */
static bool date_of(const char *value, char *buf, size_t size)
{
    char *end;
    long long us = strtoll(value, &end, 10);
    time_t t = (time_t)(us / 1000000);
    struct tm tm;

    if (!value[0] || *end || !localtime_r(&t, &tm))
        return false;
    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
    return true;
}

/* One field: on its line if it fits one, else indented below. */
static void field(const char *name, const char *value)
{
    const char *nl = strchr(value, '\n');
    char date[64];

    if ((strcmp(name, "time") == 0 || strcmp(name, "node_start") == 0) &&
        date_of(value, date, sizeof(date)))
        value = date;

    if (!nl && strlen(value) < LINE_MAX - 20) {
        char label[32];

        snprintf(label, sizeof(label), "%-14s", name);
        add_line(" ", label, value);
        return;
    }
    add_line(" ", name, ":");
    while (*value) {
        int len = (int)strcspn(value, "\n");
        char part[LINE_MAX - 8];

        if (len > (int)sizeof(part) - 1)
            len = (int)sizeof(part) - 1;
        memcpy(part, value, (size_t)len);
        part[len] = '\0';
        add_line("   ", part, "");
        value += len;
        if (*value == '\n')
            value++;
    }
}

static void node_fields(ax_term_t map)
{
    char text[8192];
    ax_term_t k;
    ax_term_t v;

    for (int i = 0; order[i]; i++) {
        v = ax_map_get(map, ax_atom(order[i]));
        if (v == AX_NONE)
            continue;
        term_text(v, text, sizeof(text));
        field(order[i], text);
    }
    for (size_t i = 0; ax_map_pair(map, i, &k, &v); i++) {
        char name[64];
        bool known = false;

        term_text(k, name, sizeof(name));
        for (int j = 0; order[j] && !known; j++)
            known = strcmp(order[j], name) == 0;
        if (!known) {
            term_text(v, text, sizeof(text));
            field(name, text);
        }
    }
}

static int report_refresh(struct obs *o)
{
    ax_term_t map;
    int err;

    if (RP.n && RP.id == o->report_id) /* a report does not change */
        return 0;
    RP.n = 0;
    RP.cur.top = 0;
    RP.id = o->report_id;
    if (o->db) {
        err = crashdb_report(o, o->report_id, field);
    } else {
        err = obs_req(o, &map, "{crash, %lld}", (long long)o->report_id);
        if (!err)
            node_fields(map);
    }
    RP.cur.n = RP.n;
    return err;
}

static void report_draw(struct obs *o, struct frame *f, int rows, int cols)
{
    (void)cols;
    RP.page = rows - 1 > 1 ? rows - 1 : 1;
    fr_line(f);
    fr_add(f, R_TITLE, " Crash report %lld  (%d lines; Esc goes back)",
           (long long)o->report_id, RP.n);
    fr_fill(f, R_TITLE);
    for (long i = RP.cur.top; i < RP.n && i < RP.cur.top + RP.page; i++) {
        fr_line(f);
        fr_add(f, RP.lines[i][1] != ' ' ? R_NORMAL : R_DIM, "%s",
               RP.lines[i]);
    }
}

static bool report_key(struct obs *o, int key)
{
    long top = RP.cur.top;

    (void)o;
    switch (key) {
    case KEY_UP: top--; break;
    case KEY_DOWN: top++; break;
    case KEY_PPAGE: top -= RP.page; break;
    case KEY_NPAGE:
    case ' ': top += RP.page; break;
    case KEY_HOME: top = 0; break;
    case KEY_END: top = RP.n - RP.page; break;
    default: return false;
    }
    if (top > RP.n - RP.page)
        top = RP.n - RP.page;
    RP.cur.top = top < 0 ? 0 : top;
    return true;
}

const struct view view_report = {
    .name = "Report",
    .open = report_open,
    .close = report_close,
    .refresh = report_refresh,
    .draw = report_draw,
    .key = report_key,
};
