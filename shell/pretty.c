/*
 * pretty.c - terms printed to fit a terminal's width, after Erlang's
 * io_lib_pretty: a term that fits on the rest of its line prints as
 * ax_format() prints it; a container that does not is broken between its
 * elements, one per line, each indented under the first, except a list
 * of plain values (numbers, atoms, pids...), which fills its lines. The
 * bounds of ax_format_opts_t (depth, elements per container) apply as
 * in ax_format, so "..." means the same in both; the whole text is also
 * cut after PRETTY_MAX_BYTES, so any term prints in bounded time.
 */
#include "lang_int.h"

#include <stdlib.h>
#include <string.h>

#define PRETTY_MAX_BYTES (256 * 1024)

struct pp {
    char *buf;
    size_t len;
    size_t cap;
    bool failed;
    const struct pretty_opts *o;
};

static void put(struct pp *pp, const char *s, size_t n)
{
    if (pp->failed)
        return;
    if (pp->len + n + 1 > pp->cap) {
        size_t cap = 2 * (pp->len + n + 1);
        char *b = realloc(pp->buf, cap);

        if (!b) {
            pp->failed = true;
            return;
        }
        pp->buf = b;
        pp->cap = cap;
    }
    memcpy(pp->buf + pp->len, s, n);
    pp->len += n;
    pp->buf[pp->len] = '\0';
}

static void puts_pp(struct pp *pp, const char *s)
{
    put(pp, s, strlen(s));
}

static void newline(struct pp *pp, unsigned col)
{
    put(pp, "\n", 1);
    for (unsigned i = 0; i < col; i++)
        put(pp, " ", 1);
}

/* t as ax_format prints it at nesting level (1 for the top), cut after
 * limit bytes (0: no cut). */
static char *flat(const struct pp *pp, ax_term_t t, size_t level,
                  size_t limit, size_t *len)
{
    ax_format_opts_t fo = {0, pp->o->max_width, limit};

    if (pp->o->max_depth)
        fo.max_depth = pp->o->max_depth >= level
                           ? pp->o->max_depth - level + 1 : 0;
    if (pp->o->max_depth && fo.max_depth == 0) {
        *len = 3;
        return strdup("...");
    }
    return ax_format(t, &fo, len);
}

static bool is_container(ax_term_t t)
{
    ax_type_t ty = ax_typeof(t);

    return (ty == AX_T_TUPLE && ax_tuple_size(t) > 0) ||
           (ty == AX_T_MAP && ax_map_size(t) > 0) || ty == AX_T_LIST;
}

static unsigned room(const struct pp *pp, unsigned col, unsigned tail)
{
    unsigned w = pp->o->width;

    return w > col + tail ? w - col - tail : 0;
}

static void term(struct pp *pp, ax_term_t t, unsigned col, size_t level,
                 unsigned tail);

/* Is the width bound reached at element i? Then "..." ends it. */
static bool cut_here(struct pp *pp, size_t i, const char *close)
{
    if (!pp->o->max_width || i < pp->o->max_width)
        return false;
    puts_pp(pp, "...");
    puts_pp(pp, close);
    return true;
}

static void tuple(struct pp *pp, ax_term_t t, unsigned col, size_t level,
                  unsigned tail)
{
    size_t n = ax_tuple_size(t);

    puts_pp(pp, "{");
    for (size_t i = 0; i < n; i++) {
        if (cut_here(pp, i, "}"))
            return;
        term(pp, ax_tuple_get(t, i), col + 1, level + 1,
             i + 1 == n ? tail + 1 : 1);
        if (i + 1 < n) {
            puts_pp(pp, ",");
            newline(pp, col + 1);
        }
    }
    puts_pp(pp, "}");
}

static void map(struct pp *pp, ax_term_t t, unsigned col, size_t level,
                unsigned tail)
{
    size_t n = ax_map_size(t);
    ax_term_t k;
    ax_term_t v;

    puts_pp(pp, "#{");
    for (size_t i = 0; ax_map_pair(t, i, &k, &v); i++) {
        size_t klen = 0;
        char *ks;

        if (cut_here(pp, i, "}"))
            return;
        ks = flat(pp, k, level + 1, 0, &klen);
        puts_pp(pp, ks ? ks : "");
        free(ks);
        puts_pp(pp, " => ");
        term(pp, v, col + 2 + (unsigned)klen + 4, level + 1,
             i + 1 == n ? tail + 1 : 1);
        if (i + 1 < n) {
            puts_pp(pp, ",");
            newline(pp, col + 2);
        }
    }
    puts_pp(pp, "}");
}

/* A list of plain values fills its lines: true if it was printed so. */
static bool filled_list(struct pp *pp, ax_term_t t, unsigned col,
                        size_t level, unsigned tail)
{
    unsigned at = col + 1;
    size_t i = 0;

    for (ax_term_t l = t; ax_is_cons(l); l = ax_tail(l))
        if (is_container(ax_head(l)) || !ax_is_list(ax_tail(l)))
            return false;
    puts_pp(pp, "[");
    for (; ax_is_cons(t); t = ax_tail(t), i++) {
        size_t len = 0;
        char *s;
        bool last = ax_tail(t) == AX_NIL;

        if (cut_here(pp, i, "]"))
            return true;
        s = flat(pp, ax_head(t), level + 1, 0, &len);
        if (i > 0 && at + 1 + len + (last ? tail + 1 : 1) > pp->o->width) {
            newline(pp, col + 1);
            at = col + 1;
        } else if (i > 0) {
            puts_pp(pp, " ");
            at++;
        }
        puts_pp(pp, s ? s : "");
        free(s);
        at += (unsigned)len + 1;
        puts_pp(pp, last ? "]" : ",");
    }
    return true;
}

static void list(struct pp *pp, ax_term_t t, unsigned col, size_t level,
                 unsigned tail)
{
    size_t i = 0;

    if (filled_list(pp, t, col, level, tail))
        return;
    puts_pp(pp, "[");
    for (; ax_is_cons(t); t = ax_tail(t), i++) {
        bool last = !ax_is_cons(ax_tail(t));

        if (cut_here(pp, i, "]"))
            return;
        term(pp, ax_head(t), col + 1, level + 1, last ? tail + 1 : 1);
        if (!last) {
            puts_pp(pp, ",");
            newline(pp, col + 1);
        }
    }
    if (t != AX_NIL) {
        puts_pp(pp, " | ");
        term(pp, t, col + 4, level + 1, tail + 1);
    }
    puts_pp(pp, "]");
}

static void term(struct pp *pp, ax_term_t t, unsigned col, size_t level,
                 unsigned tail)
{
    unsigned avail = room(pp, col, tail);
    size_t len = 0;
    char *s;

    if (pp->len > PRETTY_MAX_BYTES) {
        puts_pp(pp, "...");
        return;
    }
    s = flat(pp, t, level, (size_t)avail + 1, &len);
    if (!s) {
        pp->failed = true;
        return;
    }
    if (len <= avail || !is_container(t) ||
        (pp->o->max_depth && level > pp->o->max_depth)) {
        if (len > avail) {
            free(s);
            s = flat(pp, t, level, 0, &len);
        }
        puts_pp(pp, s ? s : "");
        free(s);
        return;
    }
    free(s);
    if (ax_is_tuple(t))
        tuple(pp, t, col, level, tail);
    else if (ax_is_map(t))
        map(pp, t, col, level, tail);
    else
        list(pp, t, col, level, tail);
}

char *pretty_format(ax_term_t t, const struct pretty_opts *o)
{
    struct pp pp = {NULL, 0, 0, false, o};

    puts_pp(&pp, "");
    term(&pp, t, o->column, 1, 0);
    if (pp.failed) {
        free(pp.buf);
        return NULL;
    }
    return pp.buf;
}
