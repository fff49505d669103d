/*
 * parse.c - the term parser (ax.h "Printing and parsing"): tokens of
 * scan.c to a term on a heap, with no recursion on nesting.
 *
 * Open containers live on an explicit stack of frames, one word each:
 * where their elements start on the element stack, their kind and their
 * state. Finished values wait on the element stack until their container
 * closes; then it is built at once, so children are always made before
 * their parents, as the heap wants (term.h). A string or a binary is
 * gathered in the scanner's text buffer and built when it ends. Nesting
 * is bounded by AX_PARSE_MAX_DEPTH; memory by the size of the input.
 */
#include "term.h"

#include <limits.h>

#include "../core/alloc.h"
#include "../core/assert.h"
#include "scan.h"
#include "tstack.h"

/* Integer magnitudes: up to 2^63 with a minus, 2^63 - 1 without. */
#define MAGNITUDE_MAX (UINT64_C(1) << 63)

enum frame_kind { FR_TUPLE, FR_LIST, FR_MAP };

enum frame_state {
    ST_ELEMS, /* taking elements (a map: expecting a key) */
    ST_TAIL,  /* a list after its |: the next value is the tail */
    ST_VALUE  /* a map after a key and its => */
};

struct parser {
    ax_heap_t *h;
    struct scanner sc;
    struct tstack elems;  /* values waiting for their container */
    struct tstack frames; /* the open containers, innermost on top */
};

static uint64_t frame_word(size_t base, enum frame_kind kind,
                           enum frame_state state)
{
    return (uint64_t)base << 8 | (uint64_t)state << 4 | kind;
}

static int advance(struct parser *p)
{
    return ax__scan_next(&p->sc);
}

static int fail(struct parser *p, int code, size_t at, const char *msg)
{
    return ax__scan_fail(&p->sc, code, at, "%s", msg);
}

static int out_of_memory(struct parser *p)
{
    return fail(p, AX_ENOMEM, p->sc.tok.start, "out of memory");
}

/* The error for a token that is not what is expected here. */
static int expected(struct parser *p, const char *what)
{
    if (p->sc.tok.kind == TOK_EOF)
        return fail(p, AX_ESYNTAX, p->sc.tok.start, "unexpected end of input");
    return ax__scan_fail(&p->sc, AX_ESYNTAX, p->sc.tok.start, "expected %s",
                         what);
}

/* The scanner's text from base on (never a null pointer). */
static const uint8_t *text_at(const struct scanner *sc, size_t base)
{
    return sc->text ? sc->text + base : (const uint8_t *)"";
}

/* --- Scalars -------------------------------------------------------------- */

/* An integer or a float, maybe after a minus. */
static int parse_number(struct parser *p, ax_term_t *out)
{
    struct token *t = &p->sc.tok;
    size_t at = t->start;
    bool neg = t->kind == TOK_MINUS;
    int err = neg ? advance(p) : 0;

    if (err)
        return err;
    if (t->kind == TOK_FLOAT)
        *out = ax__make_float(p->h, neg ? -t->f : t->f);
    else if (t->kind != TOK_INT)
        return expected(p, "a number");
    else if (t->u > MAGNITUDE_MAX - !neg)
        return fail(p, AX_ESYNTAX, at, "integer out of range");
    else if (neg && t->u > 0)
        *out = ax_int(p->h, -(int64_t)(t->u - 1) - 1);
    else
        *out = ax_int(p->h, (int64_t)t->u);
    return *out == AX_NONE ? out_of_memory(p) : advance(p);
}

/* Adjacent string literals, as one binary. */
static int parse_string(struct parser *p, ax_term_t *out)
{
    struct scanner *sc = &p->sc;
    size_t base = sc->tok.text_start;
    int err;

    do {
        err = advance(p);
        if (err)
            return err;
    } while (sc->tok.kind == TOK_STRING);
    *out = ax_binary(p->h, text_at(sc, base), sc->text_len - base);
    sc->text_len = base;
    return *out == AX_NONE ? out_of_memory(p) : 0;
}

/* One segment of a binary: a byte, or strings; appended to the text. */
static int parse_segment(struct parser *p)
{
    struct token *t = &p->sc.tok;
    size_t at = t->start;
    bool neg = t->kind == TOK_MINUS;
    uint8_t byte;
    int err = 0;

    if (t->kind == TOK_STRING) {
        while (!err && t->kind == TOK_STRING)
            err = advance(p);
        return err;
    }
    if (neg)
        err = advance(p);
    if (err)
        return err;
    if (t->kind != TOK_INT)
        return expected(p, neg ? "an integer" : "an integer or a string");
    if (t->u > 255 || (neg && t->u > 0))
        return fail(p, AX_ESYNTAX, at, "byte out of range (0..255)");
    byte = (uint8_t)t->u;
    err = ax__scan_put(&p->sc, &byte, 1);
    return err ? err : advance(p);
}

/* Segments separated by commas, up to the >> (then the current token). */
static int parse_segments(struct parser *p)
{
    int err;

    for (;;) {
        err = parse_segment(p);
        if (err)
            return err;
        if (p->sc.tok.kind == TOK_BIN_CLOSE)
            return 0;
        if (p->sc.tok.kind != TOK_COMMA)
            return expected(p, "',' or '>>'");
        err = advance(p);
        if (err)
            return err;
    }
}

/* <<Segment, ...>>: bytes and strings. */
static int parse_binary(struct parser *p, ax_term_t *out)
{
    struct scanner *sc = &p->sc;
    size_t base = sc->text_len;
    int err = advance(p);

    if (!err && sc->tok.kind != TOK_BIN_CLOSE)
        err = parse_segments(p);
    if (err)
        return err;
    *out = ax_binary(p->h, text_at(sc, base), sc->text_len - base);
    sc->text_len = base;
    return *out == AX_NONE ? out_of_memory(p) : advance(p);
}

/* --- Containers ----------------------------------------------------------- */

/* A list of the n elements e[0..n) (n > 0) ending in tail. */
static ax_term_t make_list(ax_heap_t *h, size_t n, const ax_term_t *e,
                           ax_term_t tail)
{
    uint64_t *cells;

    if (n > SIZE_MAX / 16)
        return AX_NONE;
    cells = ax__heap_alloc(h, 2 * n);
    if (!cells)
        return AX_NONE;
    for (size_t i = n; i-- > 0;) {
        cells[2 * i] = e[i];
        cells[2 * i + 1] = tail;
        tail = make_cons_ptr(cells + 2 * i);
    }
    return tail;
}

/* A map of the n pairs e[0..2n) given key, value, key, value... */
static ax_term_t make_map(ax_heap_t *h, size_t n, const ax_term_t *e)
{
    ax_term_t *kv = ax__malloc_array(n, 2 * sizeof(*kv));
    ax_term_t map;

    if (!kv)
        return AX_NONE;
    for (size_t i = 0; i < n; i++) {
        kv[i] = e[2 * i];
        kv[n + i] = e[2 * i + 1];
    }
    map = ax__make_map(h, n, kv, kv + n);
    ax__free(kv);
    return map;
}

/* Builds the innermost container from its elements; the current token is
 * its closing bracket. */
static int close_container(struct parser *p, ax_term_t *out)
{
    uint64_t f = tstack_pop(&p->frames);
    size_t base = (size_t)(f >> 8);
    ax_term_t *e = p->elems.items + base;
    size_t n = p->elems.len - base;

    switch ((enum frame_kind)(f & 0xF)) {
    case FR_TUPLE:
        *out = ax_tuple_v(p->h, n, e);
        break;
    case FR_LIST:
        if ((f >> 4 & 0xF) == ST_TAIL)
            *out = make_list(p->h, n - 1, e, e[n - 1]);
        else
            *out = make_list(p->h, n, e, AX_NIL);
        break;
    case FR_MAP:
        *out = make_map(p->h, n / 2, e);
        break;
    }
    p->elems.len = base;
    return *out == AX_NONE ? out_of_memory(p) : advance(p);
}

/*
 * After an opening bracket: an empty container (in *out), or a frame
 * pushed for its elements (*out stays AX_NONE).
 */
static int open_container(struct parser *p, enum frame_kind kind,
                          enum tok_kind close, ax_term_t *out)
{
    size_t at = p->sc.tok.start;
    int err = advance(p);

    if (err)
        return err;
    if (p->sc.tok.kind == close) {
        if (kind == FR_TUPLE)
            *out = ax_tuple_v(p->h, 0, NULL);
        else
            *out = kind == FR_MAP ? ax_map_new(p->h) : AX_NIL;
        return *out == AX_NONE ? out_of_memory(p) : advance(p);
    }
    if (p->frames.len >= AX_PARSE_MAX_DEPTH)
        return fail(p, AX_ESYSLIMIT, at, "nesting too deep");
    if (!tstack_push(&p->frames, frame_word(p->elems.len, kind, ST_ELEMS)))
        return out_of_memory(p);
    return 0;
}

/*
 * A value from the current token on, in *out; or, for a non-empty
 * container, its frame opened and *out AX_NONE.
 */
static int parse_value(struct parser *p, ax_term_t *out)
{
    struct token *t = &p->sc.tok;

    *out = AX_NONE;
    switch (t->kind) {
    case TOK_INT:
    case TOK_FLOAT:
    case TOK_MINUS:
        return parse_number(p, out);
    case TOK_ATOM:
    case TOK_PID:
        *out = t->term;
        return advance(p);
    case TOK_REF:
        *out = ax__make_ref(p->h, t->node, t->nwords, t->words);
        return *out == AX_NONE ? out_of_memory(p) : advance(p);
    case TOK_STRING:
        return parse_string(p, out);
    case TOK_BIN_OPEN:
        return parse_binary(p, out);
    case TOK_LBRACE:
        return open_container(p, FR_TUPLE, TOK_RBRACE, out);
    case TOK_LBRACKET:
        return open_container(p, FR_LIST, TOK_RBRACKET, out);
    case TOK_MAP_OPEN:
        return open_container(p, FR_MAP, TOK_RBRACE, out);
    case TOK_VAR:
        return fail(p, AX_ESYNTAX, t->start,
                    "variables are not allowed in a term");
    case TOK_RESERVED:
        return ax__scan_fail(
            &p->sc, AX_ESYNTAX, t->start, "'%.*s' is a reserved word",
            (int)(t->end - t->start), (const char *)p->sc.s + t->start);
    default:
        return expected(p, "a term");
    }
}

/* --- Separators ----------------------------------------------------------- */

static int after_tuple_elem(struct parser *p, ax_term_t *out)
{
    if (p->sc.tok.kind == TOK_COMMA)
        return advance(p);
    if (p->sc.tok.kind == TOK_RBRACE)
        return close_container(p, out);
    return expected(p, "',' or '}'");
}

static int after_list_elem(struct parser *p, uint64_t *frame, ax_term_t *out)
{
    enum tok_kind k = p->sc.tok.kind;

    if ((*frame >> 4 & 0xF) == ST_TAIL)
        return k == TOK_RBRACKET ? close_container(p, out) : expected(p, "']'");
    if (k == TOK_COMMA)
        return advance(p);
    if (k == TOK_RBRACKET)
        return close_container(p, out);
    if (k != TOK_BAR)
        return expected(p, "',', '|' or ']'");
    *frame = frame_word((size_t)(*frame >> 8), FR_LIST, ST_TAIL);
    return advance(p);
}

static int after_map_elem(struct parser *p, uint64_t *frame, ax_term_t *out)
{
    enum tok_kind k = p->sc.tok.kind;
    size_t base = (size_t)(*frame >> 8);

    if ((*frame >> 4 & 0xF) == ST_ELEMS) {
        if (k != TOK_ARROW)
            return expected(p, "'=>'");
        *frame = frame_word(base, FR_MAP, ST_VALUE);
        return advance(p);
    }
    *frame = frame_word(base, FR_MAP, ST_ELEMS);
    if (k == TOK_COMMA)
        return advance(p);
    if (k == TOK_RBRACE)
        return close_container(p, out);
    return expected(p, "',' or '}'");
}

/*
 * Gives v to the innermost open container and reads the separator after
 * it: *out gets the container if that closed it, else AX_NONE.
 */
static int add_value(struct parser *p, ax_term_t v, ax_term_t *out)
{
    uint64_t *frame = &p->frames.items[p->frames.len - 1];

    *out = AX_NONE;
    if (!tstack_push(&p->elems, v))
        return out_of_memory(p);
    switch ((enum frame_kind)(*frame & 0xF)) {
    case FR_TUPLE:
        return after_tuple_elem(p, out);
    case FR_LIST:
        return after_list_elem(p, frame, out);
    case FR_MAP:
        return after_map_elem(p, frame, out);
    }
    ax_unreachable();
}

/* One term from the current token on; the token after it is current. */
static int parse_term(struct parser *p, ax_term_t *out)
{
    ax_term_t v;
    int err;

    for (;;) {
        err = parse_value(p, &v);
        while (!err && v != AX_NONE) {
            if (tstack_empty(&p->frames)) {
                *out = v;
                return 0;
            }
            err = add_value(p, v, &v);
        }
        if (err)
            return err;
    }
}

/* --- Entry points --------------------------------------------------------- */

static void parser_init(struct parser *p, ax_heap_t *h, const char *text,
                        size_t len, size_t pos)
{
    p->h = h;
    ax__scan_init(&p->sc, text, len, pos);
    tstack_init(&p->elems);
    tstack_init(&p->frames);
}

static void parser_destroy(struct parser *p)
{
    ax__scan_destroy(&p->sc);
    tstack_destroy(&p->elems);
    tstack_destroy(&p->frames);
}

/* Fills err (if any) with the line and column of the error's offset. */
static void report(const struct parser *p, ax_parse_error_t *err)
{
    const uint8_t *s = p->sc.s;
    const uint8_t *nl;
    size_t line_start = 0;
    size_t line = 1;

    if (!err)
        return;
    while (line_start < p->sc.err_at &&
           (nl = memchr(s + line_start, '\n', p->sc.err_at - line_start))) {
        line_start = (size_t)(nl - s) + 1;
        line++;
    }
    err->line = line > INT_MAX ? INT_MAX : (int)line;
    line = p->sc.err_at - line_start + 1;
    err->column = line > INT_MAX ? INT_MAX : (int)line;
    snprintf(err->message, sizeof(err->message), "%s", p->sc.msg);
}

int ax_parse(ax_heap_t *h, const char *text, size_t len, ax_term_t *out,
             ax_parse_error_t *err)
{
    struct parser p;
    ax_term_t t = AX_NONE;
    int rc;

    parser_init(&p, h, text, len, 0);
    rc = advance(&p);
    if (!rc)
        rc = parse_term(&p, &t);
    if (!rc && p.sc.tok.kind == TOK_END)
        rc = advance(&p);
    if (!rc && p.sc.tok.kind != TOK_EOF)
        rc = fail(&p, AX_ESYNTAX, p.sc.tok.start,
                  "trailing input after the term");
    if (rc)
        report(&p, err);
    else
        *out = t;
    parser_destroy(&p);
    return rc;
}

int ax_parse_next(ax_heap_t *h, const char *text, size_t len, size_t *pos,
                  ax_term_t *out, ax_parse_error_t *err)
{
    struct parser p;
    ax_term_t t = AX_NONE;
    int rc;

    if (*pos > len)
        return AX_EINVAL;
    parser_init(&p, h, text, len, *pos);
    rc = advance(&p);
    if (!rc && p.sc.tok.kind == TOK_EOF) {
        parser_destroy(&p);
        return 0;
    }
    if (!rc)
        rc = parse_term(&p, &t);
    if (!rc && p.sc.tok.kind != TOK_END)
        rc = expected(&p, "'.'");
    if (rc) {
        report(&p, err);
    } else {
        *out = t;
        *pos = p.sc.tok.end;
        rc = 1;
    }
    parser_destroy(&p);
    return rc;
}

void ax_parse_error_format(const ax_parse_error_t *err, char *buf, size_t size)
{
    if (size == 0)
        return;
    snprintf(buf, size, "%d:%d: %s", err->line, err->column, err->message);
}
