/*
 * print.c - terms as text in Erlang syntax (ax.h "Printing and parsing").
 *
 * The walk is iterative: an explicit stack (tstack.h) of work items, three
 * words each (a term, an index, and kind | depth << 8), so a term nested
 * a million deep prints on a small process stack. A container prints its
 * opening bracket and pushes a continuation that, each time it is popped,
 * prints one separator and pushes itself again above its next element.
 *
 * What is printed reads back with ax_parse() to a term =:= to the one
 * given, unless a bound of ax_format_opts_t cut it (which shows as ...):
 * atoms are quoted when they are not plain lowercase names or are
 * reserved words; a binary is a "string" when it is printable UTF-8 and
 * <<1,2,3>> otherwise; floats always show a '.' (flonum.h).
 */
#include "term.h"

#include <inttypes.h>
#include <stdio.h>

#include "../core/alloc.h"
#include "../core/utf8.h"
#include "flonum.h"
#include "scan.h"
#include "tstack.h"

/* Where text goes: a growable buffer, cut a little after limit bytes. */
struct out {
    char *buf;
    size_t len;
    size_t cap;
    size_t limit; /* max_chars; 0 for none */
    bool failed;  /* an allocation failed: the result is NULL */
};

/* Work items on the stack. */
enum item {
    IT_TERM,  /* print a term */
    IT_TEXT,  /* print a static string (its pointer is the term word) */
    IT_TUPLE, /* a tuple from element index on */
    IT_MAP,   /* a map from pair index on */
    IT_LIST   /* a list's remainder: a cons cell, [] or an improper tail */
};

struct printer {
    struct out out;
    struct tstack stack;
    size_t max_depth;
    size_t max_width;
};

/* --- Output --------------------------------------------------------------- */

static bool out_full(const struct out *o)
{
    return o->failed || (o->limit && o->len > o->limit);
}

static void out_mem(struct out *o, const void *p, size_t n)
{
    size_t cap = o->cap ? o->cap : 64;
    char *buf;

    if (o->failed)
        return;
    while (cap - o->len <= n) { /* keep a byte for the NUL */
        if (cap > SIZE_MAX / 2) {
            o->failed = true;
            return;
        }
        cap *= 2;
    }
    if (cap != o->cap) {
        buf = ax__realloc(o->buf, cap);
        if (!buf) {
            o->failed = true;
            return;
        }
        o->buf = buf;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void out_str(struct out *o, const char *s)
{
    out_mem(o, s, strlen(s));
}

static void out_char(struct out *o, char c)
{
    out_mem(o, &c, 1);
}

static void out_u64(struct out *o, uint64_t v)
{
    char buf[20];
    size_t i = sizeof(buf);

    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    out_mem(o, buf + i, sizeof(buf) - i);
}

/* Cuts the text to its limit (at a character boundary) and marks it. */
static void out_cut(struct out *o)
{
    if (o->failed || !o->limit || o->len <= o->limit)
        return;
    o->len = o->limit;
    while (o->len > 0 && ((uint8_t)o->buf[o->len] & 0xC0) == 0x80)
        o->len--;
    out_str(o, "...");
}

/* --- Scalars -------------------------------------------------------------- */

/* The escape of c between quotes q, or NULL if c stands for itself. */
static const char *escape_of(uint32_t c, char q, char *buf, size_t size)
{
    switch (c) {
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\t':
        return "\\t";
    case '\r':
        return "\\r";
    case '\'':
        return q == '\'' ? "\\'" : NULL;
    case '"':
        return q == '"' ? "\\\"" : NULL;
    default:
        break;
    }
    if (c >= 0x20 && (c < 0x7F || c >= 0xA0))
        return NULL;
    snprintf(buf, size, "\\x%02" PRIX32, c);
    return buf;
}

/* s[0..len), valid UTF-8, escaped to read back between quotes q. */
static void print_escaped(struct out *o, const uint8_t *s, size_t len, char q)
{
    char buf[8];
    const char *esc;
    uint32_t c;
    size_t n;

    for (size_t i = 0; i < len && !out_full(o); i += n) {
        n = ax__utf8_decode(s + i, len - i, &c);
        if (n == 0) /* never for atoms and strings; just move on */
            c = s[i], n = 1;
        esc = escape_of(c, q, buf, sizeof(buf));
        if (esc)
            out_str(o, esc);
        else
            out_mem(o, s + i, n);
    }
}

static void print_atom(struct out *o, ax_term_t t)
{
    size_t len;
    const char *s = ax_atom_text(t, &len);

    if (ax__scan_is_bare_atom(s, len)) {
        out_mem(o, s, len);
        return;
    }
    out_char(o, '\'');
    print_escaped(o, (const uint8_t *)s, len, '\'');
    out_char(o, '\'');
}

/* True if the bytes print as a string: UTF-8 whose only control
 * characters are \n, \t and \r. */
static bool is_text(const uint8_t *s, size_t len)
{
    uint32_t c;
    size_t n;

    for (size_t i = 0; i < len; i += n) {
        n = ax__utf8_decode(s + i, len - i, &c);
        if (n == 0)
            return false;
        if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') ||
            (c >= 0x7F && c < 0xA0))
            return false;
    }
    return true;
}

/* "text", or "te..." when longer than width bytes (cut between
 * characters). */
static void print_string(struct out *o, const uint8_t *s, size_t len,
                         size_t width)
{
    size_t cut = len;

    if (width && len > width) {
        cut = width;
        while (cut > 0 && (s[cut] & 0xC0) == 0x80)
            cut--;
    }
    out_char(o, '"');
    print_escaped(o, s, cut, '"');
    if (cut < len)
        out_str(o, "...");
    out_char(o, '"');
}

/* <<1,2,3>>, or <<1,2,...>> when longer than width. */
static void print_bytes(struct out *o, const uint8_t *s, size_t len,
                        size_t width)
{
    out_str(o, "<<");
    for (size_t i = 0; i < len && !out_full(o); i++) {
        if (i > 0)
            out_char(o, ',');
        if (width && i >= width) {
            out_str(o, "...");
            break;
        }
        out_u64(o, s[i]);
    }
    out_str(o, ">>");
}

static void print_binary(struct printer *p, ax_term_t t)
{
    size_t len;
    const uint8_t *s = ax_binary_data(t, &len);

    if (len > 0 && is_text(s, len))
        print_string(&p->out, s, len, p->max_width);
    else
        print_bytes(&p->out, s, len, p->max_width);
}

static void print_number(struct out *o, ax_term_t t)
{
    char buf[FLONUM_CHARS];
    int64_t v;

    if (ax_is_float(t)) {
        out_mem(o, buf, ax__float_format(float_value(t), buf));
        return;
    }
    ax_get_int(t, &v);
    if (v < 0)
        out_char(o, '-');
    out_u64(o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

/* <Node.Number.Serial> */
static void print_pid(struct out *o, ax_term_t t)
{
    out_char(o, '<');
    out_u64(o, pid_node(t));
    out_char(o, '.');
    out_u64(o, pid_number(t));
    out_char(o, '.');
    out_u64(o, pid_serial(t));
    out_char(o, '>');
}

/* #Ref<Node.Wn-1...W0>: the id words most significant first. */
static void print_ref(struct out *o, ax_term_t t)
{
    out_str(o, "#Ref<");
    out_u64(o, ref_node(t));
    for (unsigned i = ref_nwords(t); i-- > 0;) {
        out_char(o, '.');
        out_u64(o, ref_word(t, i));
    }
    out_char(o, '>');
}

/* --- The walk ------------------------------------------------------------- */

static void push(struct printer *p, enum item kind, ax_term_t t, size_t i,
                 size_t depth)
{
    if (!ax__tstack_reserve(&p->stack, 3)) {
        p->out.failed = true;
        return;
    }
    tstack_push(&p->stack, t);
    tstack_push(&p->stack, i);
    tstack_push(&p->stack, (uint64_t)depth << 8 | kind);
}

static void push_text(struct printer *p, const char *s)
{
    push(p, IT_TEXT, (ax_term_t)(uintptr_t)s, 0, 0);
}

/* Opens a container at depth, or prints ... if it is too deep. */
static void open_container(struct printer *p, const char *bracket,
                           enum item kind, ax_term_t t, size_t depth)
{
    if (p->max_depth && depth > p->max_depth) {
        out_str(&p->out, "...");
        return;
    }
    out_str(&p->out, bracket);
    push(p, kind, t, 0, depth);
}

/* Prints the separator before element i, or the end; false if the width
 * bound ends the container here. */
static bool next_element(struct printer *p, size_t i, const char *close)
{
    if (i > 0)
        out_str(&p->out, ", ");
    if (p->max_width && i >= p->max_width) {
        out_str(&p->out, "...");
        out_str(&p->out, close);
        return false;
    }
    return true;
}

static void step_tuple(struct printer *p, ax_term_t t, size_t i, size_t depth)
{
    if (i == tuple_arity(t)) {
        out_char(&p->out, '}');
        return;
    }
    if (!next_element(p, i, "}"))
        return;
    push(p, IT_TUPLE, t, i + 1, depth);
    push(p, IT_TERM, tuple_elems(t)[i], 0, depth + 1);
}

static void step_map(struct printer *p, ax_term_t t, size_t i, size_t depth)
{
    if (i == map_count(t)) {
        out_char(&p->out, '}');
        return;
    }
    if (!next_element(p, i, "}"))
        return;
    push(p, IT_MAP, t, i + 1, depth);
    push(p, IT_TERM, map_vals(t)[i], 0, depth + 1);
    push_text(p, " => ");
    push(p, IT_TERM, map_keys(t)[i], 0, depth + 1);
}

/* t is what is left of a list after i elements. */
static void step_list(struct printer *p, ax_term_t t, size_t i, size_t depth)
{
    if (t == AX_NIL) {
        out_char(&p->out, ']');
        return;
    }
    if (!term_is_cons(t)) {
        out_str(&p->out, " | ");
        push_text(p, "]");
        push(p, IT_TERM, t, 0, depth + 1);
        return;
    }
    if (!next_element(p, i, "]"))
        return;
    push(p, IT_LIST, cons_cell(t)[1], i + 1, depth);
    push(p, IT_TERM, cons_cell(t)[0], 0, depth + 1);
}

static void print_term(struct printer *p, ax_term_t t, size_t depth)
{
    switch (ax_typeof(t)) {
    case AX_T_INT:
    case AX_T_FLOAT:
        print_number(&p->out, t);
        break;
    case AX_T_ATOM:
        print_atom(&p->out, t);
        break;
    case AX_T_REF:
        print_ref(&p->out, t);
        break;
    case AX_T_PID:
        print_pid(&p->out, t);
        break;
    case AX_T_NIL:
        out_str(&p->out, "[]");
        break;
    case AX_T_BINARY:
        print_binary(p, t);
        break;
    case AX_T_TUPLE:
        open_container(p, "{", IT_TUPLE, t, depth);
        break;
    case AX_T_MAP:
        open_container(p, "#{", IT_MAP, t, depth);
        break;
    case AX_T_LIST:
        open_container(p, "[", IT_LIST, t, depth);
        break;
    case AX_T_NONE:
        out_str(&p->out, "#none"); /* a caller's bug, shown not hidden */
        break;
    }
}

/* Pops one work item and does it. */
static void step(struct printer *p)
{
    uint64_t tag = tstack_pop(&p->stack);
    size_t i = (size_t)tstack_pop(&p->stack);
    ax_term_t t = tstack_pop(&p->stack);
    size_t depth = (size_t)(tag >> 8);

    switch ((enum item)(tag & 0xFF)) {
    case IT_TERM:
        print_term(p, t, depth);
        break;
    case IT_TEXT:
        out_str(&p->out, (const char *)(uintptr_t)t);
        break;
    case IT_TUPLE:
        step_tuple(p, t, i, depth);
        break;
    case IT_MAP:
        step_map(p, t, i, depth);
        break;
    case IT_LIST:
        step_list(p, t, i, depth);
        break;
    }
}

char *ax_format(ax_term_t t, const ax_format_opts_t *opts, size_t *len)
{
    struct printer p = {.out = {NULL, 0, 0, 0, false}};

    if (opts) {
        p.max_depth = opts->max_depth;
        p.max_width = opts->max_width;
        p.out.limit = opts->max_chars;
    }
    tstack_init(&p.stack);
    push(&p, IT_TERM, t, 0, 1);
    while (!tstack_empty(&p.stack) && !out_full(&p.out))
        step(&p);
    tstack_destroy(&p.stack);
    out_cut(&p.out);
    if (p.out.failed) {
        ax__free(p.out.buf);
        return NULL;
    }
    p.out.buf[p.out.len] = '\0';
    if (len)
        *len = p.out.len;
    return p.out.buf;
}

int ax_print(FILE *f, ax_term_t t, const ax_format_opts_t *opts)
{
    size_t len;
    char *s = ax_format(t, opts, &len);

    if (!s)
        return AX_ENOMEM;
    fwrite(s, 1, len, f);
    ax__free(s);
    return 0;
}
