/*
 * lang_parse.c - the shell language's parser: the tokens of one
 * expression sequence to a syntax tree, by recursive descent with
 * Erlang's operator precedence (lowest first):
 *
 *   = !  (right)   orelse   andalso   == /= =:= =/= < > =< >=  (none)
 *   ++  (right)    + -      * / div rem      unary - + not
 *
 * Patterns are read as expressions and then checked, as Erlang does.
 * Nodes and their arrays come from an arena freed with the form; the
 * nesting depth is bounded so that hostile input cannot exhaust the C
 * stack. The first error wins and stops the parse.
 */
#include "lang_int.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define NESTING_MAX 200
#define CHUNK_SIZE 4096

struct arena_chunk {
    struct arena_chunk *next;
    size_t used;
    size_t cap;
    alignas(max_align_t) unsigned char data[];
};

struct parser {
    const struct token *t; /* the tokens, ending with T_END */
    size_t n;
    size_t i; /* the current token */
    const char *text;
    ax_heap_t *h; /* where literals go */
    struct arena_chunk *arena;
    unsigned depth;
    size_t err_at;
    char *msg;
    size_t msg_size;
};

/* --- Arena ----------------------------------------------------------------- */

static void *arena_alloc(struct parser *p, size_t size)
{
    struct arena_chunk *c = p->arena;

    size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    if (!c || c->cap - c->used < size) {
        size_t cap = size > CHUNK_SIZE ? size : CHUNK_SIZE;

        c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->next = p->arena;
        c->used = 0;
        c->cap = cap;
        p->arena = c;
    }
    c->used += size;
    return c->data + c->used - size;
}

void lang_form_destroy(struct form *f)
{
    struct arena_chunk *c = f->arena;

    while (c) {
        struct arena_chunk *next = c->next;

        free(c);
        c = next;
    }
    f->arena = NULL;
    f->body = NULL;
}

/* --- Errors ---------------------------------------------------------------- */

static const struct token *cur(const struct parser *p)
{
    return &p->t[p->i < p->n ? p->i : p->n - 1];
}

static int fail_at(struct parser *p, size_t at, const char *msg)
{
    if (!p->msg[0]) {
        p->err_at = at;
        snprintf(p->msg, p->msg_size, "%s", msg);
    }
    return AX_ESYNTAX;
}

/* "syntax error before: X", X the current token as erl shows it. */
static int syntax_error(struct parser *p)
{
    const struct token *t = cur(p);
    const char *name = lang_tok_name(t->kind);
    char msg[160];

    if (t->kind == T_LIT || t->kind == T_ATOM || t->kind == T_VAR) {
        int len = (int)(t->end - t->start);

        snprintf(msg, sizeof(msg), "syntax error before: %.*s",
                 len > 60 ? 60 : len, p->text + t->start);
    } else {
        snprintf(msg, sizeof(msg), "syntax error before: '%s'",
                 name ? name : "?");
    }
    return fail_at(p, t->start, msg);
}

static int no_memory(struct parser *p)
{
    fail_at(p, cur(p)->start, "out of memory");
    return AX_ENOMEM;
}

/* --- Helpers --------------------------------------------------------------- */

static bool at(const struct parser *p, enum tok kind)
{
    return cur(p)->kind == kind;
}

static bool accept(struct parser *p, enum tok kind)
{
    if (!at(p, kind))
        return false;
    p->i++;
    return true;
}

static int expect(struct parser *p, enum tok kind)
{
    return accept(p, kind) ? 0 : syntax_error(p);
}

static struct node *new_node(struct parser *p, enum node_kind kind,
                             size_t pos)
{
    struct node *nd = arena_alloc(p, sizeof(*nd));

    if (nd)
        *nd = (struct node){.kind = kind, .pos = pos};
    return nd;
}

/* Appends kid to nd->v (the arena keeps the old arrays). */
static int add_kid(struct parser *p, struct node *nd, struct node *kid)
{
    if ((nd->n & (nd->n - 1)) == 0) {
        size_t cap = nd->n ? 2 * nd->n : 1;
        struct node **v = arena_alloc(p, cap * sizeof(*v));

        if (!v)
            return no_memory(p);
        if (nd->n)
            memcpy(v, nd->v, nd->n * sizeof(*v));
        nd->v = v;
    }
    nd->v[nd->n++] = kid;
    return 0;
}

static int parse_expr(struct parser *p, struct node **out);

/* Expressions separated by commas, as a block. */
static int parse_exprs(struct parser *p, struct node **out)
{
    struct node *blk = new_node(p, N_BLOCK, cur(p)->start);
    struct node *e;
    int err;

    if (!blk)
        return no_memory(p);
    do {
        err = parse_expr(p, &e);
        if (!err)
            err = add_kid(p, blk, e);
        if (err)
            return err;
    } while (accept(p, T_COMMA));
    *out = blk;
    return 0;
}

/* --- Patterns -------------------------------------------------------------- */

static int check_pattern(struct parser *p, const struct node *nd)
{
    int err = 0;

    switch (nd->kind) {
    case N_LIT:
    case N_VAR:
    case N_WILD:
        return 0;
    case N_MATCH:
        err = check_pattern(p, nd->a);
        return err ? err : check_pattern(p, nd->b);
    case N_LIST:
        if (nd->a)
            err = check_pattern(p, nd->a);
        /* fall through */
    case N_TUPLE:
        for (size_t i = 0; !err && i < nd->n; i++)
            err = check_pattern(p, nd->v[i]);
        return err;
    case N_MAP:
        if (nd->a)
            break;
        for (size_t i = 0; !err && i < nd->n; i++) {
            enum node_kind k = nd->v[i]->a->kind;

            if (k != N_LIT && k != N_VAR)
                return fail_at(p, nd->v[i]->pos, "illegal map key in pattern");
            err = check_pattern(p, nd->v[i]->b);
        }
        return err;
    default:
        break;
    }
    return fail_at(p, nd->pos, "illegal pattern");
}

/* --- Containers ------------------------------------------------------------ */

/* Elements up to close, separated by commas, into nd->v. */
static int parse_elems(struct parser *p, struct node *nd, enum tok close)
{
    struct node *e;
    int err;

    if (accept(p, close))
        return 0;
    do {
        err = parse_expr(p, &e);
        if (!err)
            err = add_kid(p, nd, e);
        if (err)
            return err;
    } while (accept(p, T_COMMA));
    return at(p, T_BAR) && close == T_RBRACKET ? 0 : expect(p, close);
}

static int parse_list(struct parser *p, struct node *nd)
{
    int err = parse_elems(p, nd, T_RBRACKET);

    if (err || !accept(p, T_BAR))
        return err;
    err = parse_expr(p, &nd->a);
    return err ? err : expect(p, T_RBRACKET);
}

/* K => V and K := V pairs up to the closing brace. */
static int parse_assocs(struct parser *p, struct node *map)
{
    struct node *as;
    int err;

    if (accept(p, T_RBRACE))
        return 0;
    do {
        as = new_node(p, N_ASSOC, cur(p)->start);
        if (!as)
            return no_memory(p);
        err = parse_expr(p, &as->a);
        if (err)
            return err;
        as->op = cur(p)->kind;
        if (!accept(p, T_MAP_ARROW) && !accept(p, T_ASSIGN))
            return syntax_error(p);
        err = parse_expr(p, &as->b);
        if (!err)
            err = add_kid(p, map, as);
        if (err)
            return err;
    } while (accept(p, T_COMMA));
    return expect(p, T_RBRACE);
}

/* <<...>> of literal bytes and strings, read by the term parser. */
static int parse_binary(struct parser *p, struct node *nd)
{
    size_t start = cur(p)->start;
    ax_parse_error_t perr;
    const struct token *t;

    for (p->i++; !at(p, T_BIN_CLOSE); p->i++) {
        t = cur(p);
        if (t->kind == T_END || (t->kind != T_LIT && t->kind != T_COMMA &&
                                 t->kind != T_MINUS))
            return syntax_error(p);
    }
    t = cur(p);
    p->i++;
    nd->kind = N_LIT;
    if (ax_parse(p->h, p->text + start, t->end - start, &nd->term, &perr))
        return fail_at(p, start + (size_t)perr.column - 1, perr.message);
    return 0;
}

/* --- Clauses --------------------------------------------------------------- */

static int parse_guard(struct parser *p, struct node **out)
{
    struct node *g = new_node(p, N_GUARD, cur(p)->start);
    struct node *conj;
    int err;

    if (!g)
        return no_memory(p);
    do {
        err = parse_exprs(p, &conj);
        if (!err)
            err = add_kid(p, g, conj);
        if (err)
            return err;
    } while (accept(p, T_SEMI));
    *out = g;
    return 0;
}

/* Pattern [when Guard] -> Body. */
static int parse_clause(struct parser *p, struct node **out)
{
    struct node *cl = new_node(p, N_CLAUSE, cur(p)->start);
    int err;

    *out = cl;
    if (!cl)
        return no_memory(p);
    err = parse_expr(p, &cl->a);
    if (!err)
        err = check_pattern(p, cl->a);
    if (!err && accept(p, T_WHEN))
        err = parse_guard(p, &cl->b);
    if (!err)
        err = expect(p, T_ARROW);
    if (!err)
        err = parse_exprs(p, &cl->c);
    *out = cl;
    return err;
}

static int parse_clauses(struct parser *p, struct node *nd)
{
    struct node *cl = NULL;
    int err;

    do {
        err = parse_clause(p, &cl);
        if (!err)
            err = add_kid(p, nd, cl);
        if (err)
            return err;
    } while (accept(p, T_SEMI));
    return 0;
}

static int parse_case(struct parser *p, struct node *nd)
{
    int err = parse_expr(p, &nd->a);

    if (!err)
        err = expect(p, T_OF);
    if (!err)
        err = parse_clauses(p, nd);
    return err ? err : expect(p, T_END_KW);
}

static int parse_receive(struct parser *p, struct node *nd)
{
    int err = 0;

    if (!at(p, T_AFTER))
        err = parse_clauses(p, nd);
    if (!err && accept(p, T_AFTER)) {
        err = parse_expr(p, &nd->a);
        if (!err)
            err = expect(p, T_ARROW);
        if (!err)
            err = parse_exprs(p, &nd->b);
    }
    return err ? err : expect(p, T_END_KW);
}

/* --- Primaries ------------------------------------------------------------- */

/* name(Args) or mod:name(Args); the current token is name's '('. */
static int parse_call(struct parser *p, struct node *nd)
{
    nd->kind = N_CALL;
    p->i++;
    return parse_elems(p, nd, T_RPAREN);
}

static int parse_atom(struct parser *p, struct node *nd)
{
    nd->term = cur(p)->term;
    nd->kind = N_LIT;
    p->i++;
    if (at(p, T_LPAREN))
        return parse_call(p, nd);
    if (!at(p, T_COLON))
        return 0;
    p->i++;
    nd->a = new_node(p, N_LIT, nd->pos);
    if (!nd->a)
        return no_memory(p);
    nd->a->term = nd->term;
    if (!at(p, T_ATOM))
        return syntax_error(p);
    nd->term = cur(p)->term;
    p->i++;
    return at(p, T_LPAREN) ? parse_call(p, nd) : syntax_error(p);
}

static int parse_var(struct parser *p, struct node *nd)
{
    size_t len;
    const char *name = ax_atom_text(cur(p)->term, &len);

    nd->kind = len == 1 && name[0] == '_' ? N_WILD : N_VAR;
    nd->term = cur(p)->term;
    p->i++;
    return 0;
}

static int parse_primary(struct parser *p, struct node **out)
{
    struct node *nd = new_node(p, N_LIT, cur(p)->start);
    enum tok kind = cur(p)->kind;

    if (!nd)
        return no_memory(p);
    *out = nd;
    if (kind == T_LIT) {
        nd->term = cur(p)->term;
        p->i++;
        return 0;
    }
    if (kind == T_ATOM)
        return parse_atom(p, nd);
    if (kind == T_VAR)
        return parse_var(p, nd);
    if (kind == T_BIN_OPEN)
        return parse_binary(p, nd);
    if (kind == T_LPAREN) {
        int err;

        p->i++;
        err = parse_expr(p, out);
        return err ? err : expect(p, T_RPAREN);
    }
    p->i++;
    switch (kind) {
    case T_LBRACE:
        nd->kind = N_TUPLE;
        return parse_elems(p, nd, T_RBRACE);
    case T_LBRACKET:
        nd->kind = N_LIST;
        return parse_list(p, nd);
    case T_MAP_OPEN:
        nd->kind = N_MAP;
        return parse_assocs(p, nd);
    case T_BEGIN: {
        int err = parse_exprs(p, out);

        return err ? err : expect(p, T_END_KW);
    }
    case T_CASE:
        nd->kind = N_CASE;
        return parse_case(p, nd);
    case T_RECEIVE:
        nd->kind = N_RECEIVE;
        return parse_receive(p, nd);
    default:
        p->i--;
        return syntax_error(p);
    }
}

/* A primary, then any map updates: M#{K => V}. */
static int parse_postfix(struct parser *p, struct node **out)
{
    int err = parse_primary(p, out);

    while (!err && at(p, T_MAP_OPEN)) {
        struct node *upd = new_node(p, N_MAP, cur(p)->start);

        if (!upd)
            return no_memory(p);
        p->i++;
        upd->a = *out;
        *out = upd;
        err = parse_assocs(p, upd);
    }
    return err;
}

/* --- Operators ------------------------------------------------------------- */

static int parse_unary(struct parser *p, struct node **out)
{
    enum tok op = cur(p)->kind;
    size_t pos = cur(p)->start;
    struct node *a;
    int err;

    if (op != T_MINUS && op != T_PLUS && op != T_NOT)
        return parse_postfix(p, out);
    if (++p->depth > NESTING_MAX)
        return fail_at(p, pos, "expression nested too deep");
    p->i++;
    err = parse_unary(p, &a);
    p->depth--;
    if (err)
        return err;
    /* -1 is a literal, so that patterns can hold negative numbers. */
    if (op == T_MINUS && a->kind == N_LIT && ax_is_number(a->term) &&
        ax_negate(p->h, a->term, &a->term) == 0) {
        a->pos = pos;
        *out = a;
        return 0;
    }
    *out = new_node(p, N_UNOP, pos);
    if (!*out)
        return no_memory(p);
    (*out)->op = op;
    (*out)->a = a;
    return 0;
}

/* Operator levels, tightest last; each lists its operators. */
struct level {
    enum tok ops[8];
    bool right;    /* right-associative */
    bool nonassoc; /* at most one */
};

static const struct level levels[] = {
    {{T_ORELSE}, false, false},
    {{T_ANDALSO}, false, false},
    {{T_EQ, T_NE, T_EXACT_EQ, T_EXACT_NE, T_LT, T_GT, T_LE, T_GE},
     false, true},
    {{T_PLUSPLUS}, true, false},
    {{T_PLUS, T_MINUS}, false, false},
    {{T_STAR, T_SLASH, T_DIV, T_REM}, false, false},
};

#define NLEVELS (sizeof(levels) / sizeof(levels[0]))

static bool is_op_of(const struct level *lv, enum tok kind)
{
    for (size_t i = 0; i < 8; i++)
        if (lv->ops[i] == kind && kind != T_EOF)
            return true;
    return false;
}

static int parse_level(struct parser *p, size_t level, struct node **out);

static int parse_operand(struct parser *p, size_t level, struct node **out)
{
    return level + 1 < NLEVELS ? parse_level(p, level + 1, out)
                               : parse_unary(p, out);
}

static int parse_level(struct parser *p, size_t level, struct node **out)
{
    const struct level *lv = &levels[level];
    int err = parse_operand(p, level, out);

    while (!err && is_op_of(lv, cur(p)->kind)) {
        struct node *nd = new_node(p, N_BINOP, cur(p)->start);

        if (!nd)
            return no_memory(p);
        nd->op = cur(p)->kind;
        nd->a = *out;
        p->i++;
        err = lv->right ? parse_level(p, level, &nd->b)
                        : parse_operand(p, level, &nd->b);
        *out = nd;
        if (lv->nonassoc)
            break;
    }
    return err;
}

static int parse_expr(struct parser *p, struct node **out)
{
    size_t pos = cur(p)->start;
    struct node *nd;
    int err;

    if (++p->depth > NESTING_MAX)
        return fail_at(p, pos, "expression nested too deep");
    err = parse_level(p, 0, out);
    if (!err && (at(p, T_MATCH) || at(p, T_SEND))) {
        nd = new_node(p, at(p, T_MATCH) ? N_MATCH : N_SEND, cur(p)->start);
        if (!nd)
            return no_memory(p);
        p->i++;
        nd->a = *out;
        err = nd->kind == N_MATCH ? check_pattern(p, nd->a) : 0;
        if (!err)
            err = parse_expr(p, &nd->b);
        *out = nd;
    }
    p->depth--;
    return err;
}

int lang_parse(ax_heap_t *h, const struct tokens *toks, const char *text,
               struct form *out, size_t *err_at, char *msg, size_t size)
{
    struct parser p = {toks->v, toks->n, 0, text, h, NULL, 0, 0, msg, size};
    int err;

    msg[0] = '\0';
    out->arena = NULL;
    out->body = NULL;
    if (toks->err[0]) {
        *err_at = toks->err_at;
        snprintf(msg, size, "%s", toks->err);
        return AX_ESYNTAX;
    }
    err = parse_exprs(&p, &out->body);
    if (!err && !at(&p, T_END))
        err = syntax_error(&p);
    out->arena = p.arena;
    if (err) {
        *err_at = p.err_at;
        lang_form_destroy(out);
    }
    return err;
}
