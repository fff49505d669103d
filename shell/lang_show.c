/*
 * lang_show.c - the commands that print what the node reports as tables
 * and trees: i(), regs(), m(), tree(), crashes(). Each gets terms from
 * its backend operation (shapes in lang.h), prints them, and returns ok;
 * a field that is missing prints empty, so a backend may give less.
 */
#include "lang_cmds.h"

#include <stdlib.h>
#include <string.h>

static ax_term_t field(ax_term_t map, const char *key)
{
    return ax_is_map(map) ? ax_map_get(map, lang_atom(key)) : AX_NONE;
}

/* A term's text cut to about max bytes, "" for AX_NONE; malloc'd. */
static char *text_of(ax_term_t t, size_t max)
{
    ax_format_opts_t fo = {.max_depth = 4, .max_width = 8, .max_chars = max};
    char *s = t == AX_NONE ? strdup("") : ax_format(t, &fo, NULL);

    return s ? s : strdup("");
}

/* {M, F, A} as M:F/A, anything else as its text. malloc'd. */
static char *call_text(ax_term_t mfa, size_t max)
{
    int64_t arity;
    char *m;
    char *f;
    char *s = NULL;

    if (ax_tuple_size(mfa) != 3 || !ax_is_atom(ax_tuple_get(mfa, 0)) ||
        !ax_is_atom(ax_tuple_get(mfa, 1)) ||
        ax_get_int(ax_tuple_get(mfa, 2), &arity) != 0)
        return text_of(mfa, max);
    m = text_of(ax_tuple_get(mfa, 0), max);
    f = text_of(ax_tuple_get(mfa, 1), max);
    if (asprintf(&s, "%s:%s/%lld", m, f, (long long)arity) < 0)
        s = NULL;
    free(m);
    free(f);
    return s ? s : strdup("");
}

static int64_t int_field(ax_term_t map, const char *key)
{
    int64_t v = 0;

    ax_get_int(field(map, key), &v);
    return v;
}

/* The list the command's operation gives for args, or EV_RAISE. */
static int fetch(struct shell *sh, const struct cmd *c, const ax_term_t *a,
                 size_t n, ax_term_t *list)
{
    return lang_cmd_op(sh, c, a, n, list);
}

static int done(struct shell *sh, ax_term_t *out)
{
    (void)sh;
    *out = lang_atom("ok");
    return EV_OK;
}

/* --- i() and regs() -------------------------------------------------------- */

static void i_row(struct shell *sh, ax_term_t p)
{
    char *pid = text_of(field(p, "pid"), 21);
    char *init = call_text(field(p, "initial_call"), 36);
    ax_term_t name = field(p, "registered_name");
    char *reg = text_of(name == AX_NIL ? AX_NONE : name, 21);
    char *cur = call_text(field(p, "current"), 36);

    fprintf(sh->out, "%-21s %-36s %8lld %8lld %4lld\n", pid, init,
            (long long)int_field(p, "heap"),
            (long long)int_field(p, "reductions"),
            (long long)int_field(p, "message_queue_len"));
    fprintf(sh->out, "%-21s %-36s %8lld\n", reg, cur,
            (long long)int_field(p, "memory"));
    free(pid);
    free(init);
    free(reg);
    free(cur);
}

int lang_cmd_i(struct shell *sh, const struct cmd *c, const ax_term_t *args,
               size_t n, ax_term_t *out)
{
    ax_term_t opts = ax_map_new(sh->h);
    ax_term_t list;
    int64_t sums[4] = {0};
    static const char *const keys[] = {"heap", "reductions",
                                       "message_queue_len", "memory"};

    (void)args;
    (void)n;
    if (fetch(sh, c, &opts, 1, &list))
        return EV_RAISE;
    fprintf(sh->out, "%-21s %-36s %8s %8s %4s\n", "Pid", "Initial Call",
            "Heap", "Reds", "Msgs");
    fprintf(sh->out, "%-21s %-36s %8s\n", "Registered", "Current Function",
            "Memory");
    for (; ax_is_cons(list); list = ax_tail(list)) {
        i_row(sh, ax_head(list));
        for (size_t k = 0; k < 4; k++)
            sums[k] += int_field(ax_head(list), keys[k]);
    }
    fprintf(sh->out, "%-21s %-36s %8lld %8lld %4lld\n", "Total", "",
            (long long)sums[0], (long long)sums[1], (long long)sums[2]);
    fprintf(sh->out, "%-21s %-36s %8lld\n", "", "", (long long)sums[3]);
    return done(sh, out);
}

int lang_cmd_regs(struct shell *sh, const struct cmd *c,
                  const ax_term_t *args, size_t n, ax_term_t *out)
{
    ax_term_t k = lang_atom("registered");
    ax_term_t v = lang_atom("true");
    ax_term_t opts = ax_map_from(sh->h, 1, &k, &v);
    ax_term_t list;

    (void)args;
    (void)n;
    if (fetch(sh, c, &opts, 1, &list))
        return EV_RAISE;
    fprintf(sh->out, "\n** Registered procs **\n%-21s %-12s %-30s %8s %4s\n",
            "Name", "Pid", "Initial Call", "Reds", "Msgs");
    for (; ax_is_cons(list); list = ax_tail(list)) {
        ax_term_t p = ax_head(list);
        char *name = text_of(field(p, "registered_name"), 21);
        char *pid = text_of(field(p, "pid"), 12);
        char *init = call_text(field(p, "initial_call"), 30);

        fprintf(sh->out, "%-21s %-12s %-30s %8lld %4lld\n", name, pid, init,
                (long long)int_field(p, "reductions"),
                (long long)int_field(p, "message_queue_len"));
        free(name);
        free(pid);
        free(init);
    }
    return done(sh, out);
}

/* --- m() ------------------------------------------------------------------- */

int lang_cmd_m(struct shell *sh, const struct cmd *c, const ax_term_t *args,
               size_t n, ax_term_t *out)
{
    ax_term_t list;

    if (fetch(sh, c, args, n, &list))
        return EV_RAISE;
    fprintf(sh->out, "%-20s %-10s %-10s %6s  %s\n", "Module", "Current",
            "Old", "Procs", "File");
    for (; ax_is_cons(list); list = ax_tail(list)) {
        ax_term_t m = ax_head(list);
        char *name = text_of(field(m, "name"), 20);
        char *cur = text_of(field(m, "current"), 10);
        char *old = text_of(field(m, "old"), 10);
        size_t len = 0;
        const uint8_t *path = ax_binary_data(field(m, "path"), &len);

        fprintf(sh->out, "%-20s %-10s %-10s %6lld  %.*s\n", name, cur, old,
                (long long)(int_field(m, "current_procs") +
                            int_field(m, "old_procs")),
                (int)len, path ? (const char *)path : "");
        free(name);
        free(cur);
        free(old);
    }
    return done(sh, out);
}

/* --- tree() ---------------------------------------------------------------- */

/* "id <pid>" of a tree node; the pid alone for a root named by it. */
static char *node_label(ax_term_t t)
{
    char *id = text_of(field(t, "id"), 40);
    char *pid = text_of(field(t, "pid"), 24);
    char *s = NULL;

    if (strcmp(id, pid) == 0 || !*pid)
        s = strdup(id);
    else if (asprintf(&s, "%s %s", id, pid) < 0)
        s = NULL;
    free(id);
    free(pid);
    return s ? s : strdup("");
}

/* Draws t's children under prefix (the bars of the levels above). */
static void draw_children(struct shell *sh, ax_term_t t, char *prefix,
                          size_t len, size_t cap)
{
    for (ax_term_t l = field(t, "children"); ax_is_cons(l); l = ax_tail(l)) {
        bool last = !ax_is_cons(ax_tail(l));
        char *label = node_label(ax_head(l));
        const char *bar = last ? "    " : "\u2502   ";

        fprintf(sh->out, "%.*s%s%s\n", (int)len, prefix,
                last ? "\u2514\u2500\u2500 " : "\u251c\u2500\u2500 ", label);
        free(label);
        if (len + strlen(bar) < cap) {
            memcpy(prefix + len, bar, strlen(bar));
            draw_children(sh, ax_head(l), prefix, len + strlen(bar), cap);
        }
    }
}

/* DOT: a node per process, boxes for supervisors, an edge per child. */
static unsigned dot_node(struct shell *sh, ax_term_t t, unsigned *next)
{
    unsigned me = (*next)++;
    char *label = node_label(t);

    fprintf(sh->out, "  n%u [label=\"", me);
    for (const char *p = label; *p; p++)
        fprintf(sh->out, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
    fprintf(sh->out, "\", shape=%s];\n",
            field(t, "type") == lang_atom("supervisor") ? "box" : "ellipse");
    free(label);
    for (ax_term_t l = field(t, "children"); ax_is_cons(l); l = ax_tail(l)) {
        unsigned child = dot_node(sh, ax_head(l), next);

        fprintf(sh->out, "  n%u -> n%u;\n", me, child);
    }
    return me;
}

int lang_cmd_tree(struct shell *sh, const struct cmd *c,
                  const ax_term_t *args, size_t n, ax_term_t *out)
{
    bool dot = n == 1 && args[0] == lang_atom("dot");
    unsigned next = 0;
    char prefix[512];
    ax_term_t list;

    if (n == 1 && !dot)
        return lang_raise_badarg(sh, c->name, args, n);
    if (fetch(sh, c, args, 0, &list))
        return EV_RAISE;
    if (dot)
        fprintf(sh->out, "digraph ax {\n");
    for (; ax_is_cons(list); list = ax_tail(list)) {
        if (dot) {
            dot_node(sh, ax_head(list), &next);
        } else {
            char *label = node_label(ax_head(list));

            fprintf(sh->out, "%s\n", label);
            free(label);
            draw_children(sh, ax_head(list), prefix, 0, sizeof(prefix));
        }
    }
    if (dot)
        fprintf(sh->out, "}\n");
    return done(sh, out);
}

/* --- crashes() ------------------------------------------------------------- */

int lang_cmd_crashes(struct shell *sh, const struct cmd *c,
                     const ax_term_t *args, size_t n, ax_term_t *out)
{
    ax_term_t filter = n == 1 ? args[0] : ax_map_new(sh->h);
    unsigned room = sh->width > 60 ? sh->width - 57 : 3;
    ax_term_t list;

    if (fetch(sh, c, &filter, 1, &list))
        return EV_RAISE;
    fprintf(sh->out, "%-20s %-12s %-20s %s\n", "Time", "Pid", "Name",
            "Reason");
    for (; ax_is_cons(list); list = ax_tail(list)) {
        ax_term_t r = ax_head(list);
        size_t tlen = 0;
        const uint8_t *time = ax_binary_data(field(r, "time"), &tlen);
        char *pid = text_of(field(r, "pid"), 12);
        ax_term_t nm = field(r, "name");
        char *name = text_of(nm == AX_NIL ? AX_NONE : nm, 20);
        char *why = text_of(field(r, "reason"), room);

        fprintf(sh->out, "%-20.*s %-12s %-20s %s\n", (int)tlen,
                time ? (const char *)time : "", pid, name, why);
        free(pid);
        free(name);
        free(why);
    }
    return done(sh, out);
}
