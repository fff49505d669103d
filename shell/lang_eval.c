/*
 * lang_eval.c - the shell language's evaluator: a syntax tree walked
 * recursively (the parser bounds its depth), with pattern matching,
 * receive over the shell's own queue of messages, and exceptions that
 * end the expression but never the shell.
 *
 * A match only ever adds bindings, at the end of sh->vars; a pattern
 * that fails part way is undone by cutting them back to where it began.
 * Messages fetched from the backend but matched by no clause stay in
 * sh->mbox, in the order they came, for later receives and flush().
 */
#include "lang_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SMALL 16

/* Terms for a node's elements: on the C stack when few. */
struct elems {
    ax_term_t small[SMALL];
    ax_term_t *v;
};

static int eval(struct shell *sh, const struct node *nd, ax_term_t *out);

ax_term_t lang_atom(const char *name)
{
    return ax_atom(name);
}

static int raise_tagged(struct shell *sh, const char *tag, ax_term_t v)
{
    ax_term_t r = ax_tuple(sh->h, 2, lang_atom(tag), v);

    return lang_raise(sh, EXC_ERROR, r, NULL);
}

static int no_memory(struct shell *sh)
{
    return lang_raise(sh, EXC_ERROR, lang_atom("system_limit"), NULL);
}

/* --- Elements -------------------------------------------------------------- */

static int eval_elems(struct shell *sh, struct node *const *v, size_t n,
                      struct elems *e)
{
    e->v = e->small;
    if (n > SMALL) {
        e->v = calloc(n, sizeof(*e->v));
        if (!e->v)
            return no_memory(sh);
    }
    for (size_t i = 0; i < n; i++)
        if (eval(sh, v[i], &e->v[i]))
            return EV_RAISE;
    return EV_OK;
}

static void elems_destroy(struct elems *e)
{
    if (e->v != e->small)
        free(e->v);
}

static ax_term_t make_list(ax_heap_t *h, const ax_term_t *v, size_t n,
                           ax_term_t tail)
{
    for (size_t i = n; i-- > 0 && tail != AX_NONE;)
        tail = ax_cons(h, v[i], tail);
    return tail;
}

static int eval_container(struct shell *sh, const struct node *nd,
                          ax_term_t *out)
{
    struct elems e;
    ax_term_t tail = AX_NIL;
    int rc = eval_elems(sh, nd->v, nd->n, &e);

    if (rc == EV_OK && nd->kind == N_LIST && nd->a)
        rc = eval(sh, nd->a, &tail);
    if (rc == EV_OK) {
        *out = nd->kind == N_TUPLE ? ax_tuple_v(sh->h, nd->n, e.v)
                                   : make_list(sh->h, e.v, nd->n, tail);
        if (*out == AX_NONE)
            rc = no_memory(sh);
    }
    elems_destroy(&e);
    return rc;
}

static int eval_map(struct shell *sh, const struct node *nd, ax_term_t *out)
{
    ax_term_t map;
    int rc = nd->a ? eval(sh, nd->a, &map) : EV_OK;

    if (rc)
        return rc;
    if (!nd->a)
        map = ax_map_new(sh->h);
    else if (!ax_is_map(map))
        return raise_tagged(sh, "badmap", map);
    for (size_t i = 0; i < nd->n; i++) {
        const struct node *as = nd->v[i];
        ax_term_t k;
        ax_term_t v;

        if (eval(sh, as->a, &k) || eval(sh, as->b, &v))
            return EV_RAISE;
        if (as->op == T_ASSIGN && ax_map_get(map, k) == AX_NONE)
            return raise_tagged(sh, "badkey", k);
        map = ax_map_put(sh->h, map, k, v);
        if (map == AX_NONE)
            return no_memory(sh);
    }
    *out = map;
    return EV_OK;
}

/* --- Patterns -------------------------------------------------------------- */

/* 1 if v matches pat (binding its new variables), 0 if not, EV_RAISE. */
static int match(struct shell *sh, const struct node *pat, ax_term_t v);

static int match_list(struct shell *sh, const struct node *pat, ax_term_t v)
{
    int m = 1;

    for (size_t i = 0; m == 1 && i < pat->n; i++) {
        if (!ax_is_cons(v))
            return 0;
        m = match(sh, pat->v[i], ax_head(v));
        v = ax_tail(v);
    }
    if (m != 1)
        return m;
    return pat->a ? match(sh, pat->a, v) : v == AX_NIL;
}

static int match_map(struct shell *sh, const struct node *pat, ax_term_t v)
{
    int m = 1;

    if (!ax_is_map(v))
        return 0;
    for (size_t i = 0; m == 1 && i < pat->n; i++) {
        ax_term_t k;
        ax_term_t val;

        if (eval(sh, pat->v[i]->a, &k))
            return EV_RAISE;
        val = ax_map_get(v, k);
        m = val == AX_NONE ? 0 : match(sh, pat->v[i]->b, val);
    }
    return m;
}

static int match(struct shell *sh, const struct node *pat, ax_term_t v)
{
    int m = 1;

    switch (pat->kind) {
    case N_LIT:
        return ax_equal_exact(pat->term, v);
    case N_WILD:
        return 1;
    case N_VAR: {
        ax_term_t old = lang_lookup(sh, pat->term);

        if (old != AX_NONE)
            return ax_equal_exact(old, v);
        return lang_bind(sh, pat->term, v) ? no_memory(sh) : 1;
    }
    case N_TUPLE:
        if (!ax_is_tuple(v) || ax_tuple_size(v) != pat->n)
            return 0;
        for (size_t i = 0; m == 1 && i < pat->n; i++)
            m = match(sh, pat->v[i], ax_tuple_get(v, i));
        return m;
    case N_LIST:
        return match_list(sh, pat, v);
    case N_MAP:
        return match_map(sh, pat, v);
    case N_MATCH:
        m = match(sh, pat->a, v);
        return m == 1 ? match(sh, pat->b, v) : m;
    default:
        return 0; /* the parser lets no other node into a pattern */
    }
}

/* match, with the bindings of a failed match undone. */
static int match_or_undo(struct shell *sh, const struct node *pat,
                         ax_term_t v)
{
    size_t mark = sh->nvars;
    int m = match(sh, pat, v);

    if (m != 1)
        sh->nvars = mark;
    return m;
}

/* --- Clauses --------------------------------------------------------------- */

/* A guard holds if any of its sequences is all true; an exception in
 * a guard makes it false, as in Erlang. */
static bool guard_holds(struct shell *sh, const struct node *g)
{
    for (size_t i = 0; i < g->n; i++) {
        const struct node *seq = g->v[i];
        bool ok = true;

        for (size_t j = 0; ok && j < seq->n; j++) {
            ax_term_t v;

            if (eval(sh, seq->v[j], &v)) {
                free(sh->exc.where);
                sh->exc.where = NULL;
                ok = false;
            } else {
                ok = v == lang_atom("true");
            }
        }
        if (ok)
            return true;
    }
    return false;
}

/* The index of the first clause v matches (bound), -1 if none, or
 * EV_RAISE (as -2). */
static int select_clause(struct shell *sh, const struct node *nd,
                         ax_term_t v, ptrdiff_t *which)
{
    for (size_t i = 0; i < nd->n; i++) {
        const struct node *cl = nd->v[i];
        size_t mark = sh->nvars;
        int m = match_or_undo(sh, cl->a, v);

        if (m < 0)
            return EV_RAISE;
        if (m == 1 && (!cl->b || guard_holds(sh, cl->b))) {
            *which = (ptrdiff_t)i;
            return EV_OK;
        }
        sh->nvars = mark;
    }
    *which = -1;
    return EV_OK;
}

static int eval_case(struct shell *sh, const struct node *nd, ax_term_t *out)
{
    ptrdiff_t which;
    ax_term_t v;

    if (eval(sh, nd->a, &v) || select_clause(sh, nd, v, &which))
        return EV_RAISE;
    if (which < 0)
        return raise_tagged(sh, "case_clause", v);
    return eval(sh, nd->v[which]->c, out);
}

/* --- Receive --------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int lang_next_message(struct shell *sh, ax_term_t timeout, ax_term_t *msg)
{
    int err;

    if (!sh->be->next_message)
        return AX_ETIMEOUT;
    if (lang_grow(&sh->mbox, &sh->mbox_cap, sh->nmbox, sizeof(*sh->mbox)))
        return AX_ENOMEM;
    *msg = AX_NONE;
    err = sh->be->next_message(sh->ctx, sh->h, timeout, msg);
    if (err == 0)
        sh->mbox[sh->nmbox++] = *msg;
    return err;
}

/* The after timeout: ms >= 0, or -1 for infinity (no after). */
static int receive_timeout(struct shell *sh, const struct node *nd,
                           int64_t *ms)
{
    ax_term_t t;

    *ms = -1;
    if (!nd->a)
        return EV_OK;
    if (eval(sh, nd->a, &t))
        return EV_RAISE;
    if (t == lang_atom("infinity"))
        return EV_OK;
    if (ax_get_int(t, ms) != 0 || *ms < 0)
        return lang_raise(sh, EXC_ERROR, lang_atom("timeout_value"), NULL);
    return EV_OK;
}

static int raise_backend(struct shell *sh, int err, ax_term_t why)
{
    if (err == SHELL_EINTR)
        return lang_raise(sh, EXC_EXIT, lang_atom("interrupted"), NULL);
    if (err == SHELL_EEXIT)
        return lang_raise(sh, EXC_EXIT, why, NULL);
    return lang_raise(sh, EXC_ERROR, lang_atom(ax_err_reason(err)), NULL);
}

static int eval_receive(struct shell *sh, const struct node *nd,
                        ax_term_t *out)
{
    int64_t ms;
    int64_t deadline;
    size_t scanned = 0;

    if (receive_timeout(sh, nd, &ms))
        return EV_RAISE;
    deadline = ms < 0 ? 0 : now_ms() + ms;
    for (;;) {
        ax_term_t msg;
        ptrdiff_t which;
        int err;

        for (; scanned < sh->nmbox; scanned++) {
            if (select_clause(sh, nd, sh->mbox[scanned], &which))
                return EV_RAISE;
            if (which >= 0) {
                memmove(sh->mbox + scanned, sh->mbox + scanned + 1,
                        (sh->nmbox - scanned - 1) * sizeof(*sh->mbox));
                sh->nmbox--;
                return eval(sh, nd->v[which]->c, out);
            }
        }
        if (ms < 0) {
            err = lang_next_message(sh, lang_atom("infinity"), &msg);
        } else {
            int64_t left = deadline - now_ms();

            err = lang_next_message(sh, ax_int(sh->h, left < 0 ? 0 : left),
                                    &msg);
        }
        if (err == AX_ETIMEOUT && nd->b)
            return eval(sh, nd->b, out);
        if (err)
            return raise_backend(sh, err, msg);
    }
}

/* --- Operators ------------------------------------------------------------- */

static const char *op_text(enum tok op)
{
    return lang_tok_name(op);
}

/* Raises reason with "in operator op/2, called as a op b". */
static int raise_operator(struct shell *sh, const char *reason, enum tok op,
                          const ax_term_t *args, size_t n)
{
    ax_format_opts_t fo = {.max_depth = 8, .max_width = 16, .max_chars = 200};
    char *a = ax_format(args[0], &fo, NULL);
    char *b = n > 1 ? ax_format(args[1], &fo, NULL) : NULL;
    /* erl names the operator as an atom: '/'/2, div/2. */
    char *name = ax_format(ax_atom(op_text(op)), NULL, NULL);
    char where[600];

    if (n > 1)
        snprintf(where, sizeof(where),
                 "     in operator  %s/%zu\n        called as %s %s %s\n",
                 name ? name : "", n, a ? a : "", op_text(op), b ? b : "");
    else
        snprintf(where, sizeof(where),
                 "     in operator  %s/%zu\n        called as %s %s\n",
                 name ? name : "", n, op_text(op), a ? a : "");
    free(name);
    free(a);
    free(b);
    return lang_raise(sh, EXC_ERROR, lang_atom(reason), where);
}

static int compare(enum tok op, ax_term_t a, ax_term_t b)
{
    switch (op) {
    case T_EQ:
        return ax_compare(a, b) == 0;
    case T_NE:
        return ax_compare(a, b) != 0;
    case T_EXACT_EQ:
        return ax_equal_exact(a, b);
    case T_EXACT_NE:
        return !ax_equal_exact(a, b);
    case T_LT:
        return ax_compare(a, b) < 0;
    case T_GT:
        return ax_compare(a, b) > 0;
    case T_LE:
        return ax_compare(a, b) <= 0;
    default:
        return ax_compare(a, b) >= 0;
    }
}

static int append(struct shell *sh, const ax_term_t *ab, ax_term_t *out)
{
    ptrdiff_t n = ax_list_length(ab[0]);
    struct elems e = {.v = NULL};
    ax_term_t l = ab[0];

    if (n < 0 || !ax_is_list(ab[1]))
        return raise_operator(sh, "badarg", T_PLUSPLUS, ab, 2);
    e.v = n > SMALL ? calloc((size_t)n, sizeof(*e.v)) : e.small;
    if (!e.v)
        return no_memory(sh);
    for (ptrdiff_t i = 0; i < n; i++, l = ax_tail(l))
        e.v[i] = ax_head(l);
    *out = make_list(sh->h, e.v, (size_t)n, ab[1]);
    elems_destroy(&e);
    return *out == AX_NONE ? no_memory(sh) : EV_OK;
}

static const struct {
    enum tok tok;
    ax_arith_op_t op;
} arith_ops[] = {
    {T_PLUS, AX_OP_ADD}, {T_MINUS, AX_OP_SUB}, {T_STAR, AX_OP_MUL},
    {T_SLASH, AX_OP_FDIV}, {T_DIV, AX_OP_DIV}, {T_REM, AX_OP_REM},
};

/* a andalso b, a orelse b: b only when a does not decide. */
static int eval_logic(struct shell *sh, const struct node *nd,
                      ax_term_t *out)
{
    ax_term_t decides = lang_atom(nd->op == T_ANDALSO ? "false" : "true");
    ax_term_t a;

    if (eval(sh, nd->a, &a))
        return EV_RAISE;
    if (a == decides) {
        *out = a;
        return EV_OK;
    }
    if (a != lang_atom("true") && a != lang_atom("false"))
        return raise_tagged(sh, "badarg", a);
    return eval(sh, nd->b, out);
}

static int eval_binop(struct shell *sh, const struct node *nd,
                      ax_term_t *out)
{
    ax_term_t ab[2];

    if (nd->op == T_ANDALSO || nd->op == T_ORELSE)
        return eval_logic(sh, nd, out);
    if (eval(sh, nd->a, &ab[0]) || eval(sh, nd->b, &ab[1]))
        return EV_RAISE;
    if (nd->op == T_PLUSPLUS)
        return append(sh, ab, out);
    for (size_t i = 0; i < sizeof(arith_ops) / sizeof(arith_ops[0]); i++) {
        if (arith_ops[i].tok != nd->op)
            continue;
        if (ax_arith(sh->h, arith_ops[i].op, ab[0], ab[1], out) == 0)
            return EV_OK;
        return raise_operator(sh, "badarith", nd->op, ab, 2);
    }
    *out = ax_bool(compare(nd->op, ab[0], ab[1]));
    return EV_OK;
}

static int eval_unop(struct shell *sh, const struct node *nd, ax_term_t *out)
{
    ax_term_t a;

    if (eval(sh, nd->a, &a))
        return EV_RAISE;
    if (nd->op == T_NOT) {
        if (a != lang_atom("true") && a != lang_atom("false"))
            return raise_operator(sh, "badarg", T_NOT, &a, 1);
        *out = ax_bool(a == lang_atom("false"));
        return EV_OK;
    }
    if (nd->op == T_PLUS && ax_is_number(a)) {
        *out = a;
        return EV_OK;
    }
    if (nd->op == T_MINUS && ax_negate(sh->h, a, out) == 0)
        return EV_OK;
    return raise_operator(sh, "badarith", nd->op, &a, 1);
}

/* --- Sends and calls ------------------------------------------------------- */

static int eval_send(struct shell *sh, const struct node *nd, ax_term_t *out)
{
    ax_term_t ab[2];
    ax_term_t res = AX_NONE;
    int err;

    if (eval(sh, nd->a, &ab[0]) || eval(sh, nd->b, &ab[1]))
        return EV_RAISE;
    if (!ax_is_pid(ab[0]) && !ax_is_atom(ab[0]))
        return raise_operator(sh, "badarg", T_SEND, ab, 2);
    err = sh->be->send ? sh->be->send(sh->ctx, sh->h, ab[0], ab[1], &res)
                       : AX_ENOTSUP;
    if (err == AX_EBADARG || err == AX_EINVAL)
        return raise_operator(sh, "badarg", T_SEND, ab, 2);
    if (err)
        return raise_backend(sh, err, res);
    *out = ab[1];
    return EV_OK;
}

/* The modules whose functions are the shell's commands. */
static bool is_shell_module(ax_term_t m)
{
    return m == lang_atom("c") || m == lang_atom("erlang") ||
           m == lang_atom("shell_default");
}

static int eval_call(struct shell *sh, const struct node *nd, ax_term_t *out)
{
    struct elems e;
    int rc;

    /* f(X) names the variable to forget: X is not evaluated. */
    if (!nd->a && nd->term == lang_atom("f") && nd->n == 1 &&
        nd->v[0]->kind == N_VAR) {
        lang_forget(sh, nd->v[0]->term);
        *out = lang_atom("ok");
        return EV_OK;
    }
    rc = eval_elems(sh, nd->v, nd->n, &e);
    if (rc == EV_OK && nd->a && !is_shell_module(nd->a->term)) {
        ax_term_t mfa = ax_tuple(sh->h, 3, nd->a->term, nd->term,
                                 ax_int(sh->h, (int64_t)nd->n));

        rc = raise_tagged(sh, "undef", mfa);
    } else if (rc == EV_OK) {
        rc = lang_call(sh, nd->term, e.v, nd->n, out);
    }
    elems_destroy(&e);
    return rc;
}

/* --- Dispatch -------------------------------------------------------------- */

static int eval_block(struct shell *sh, const struct node *nd,
                      ax_term_t *out)
{
    for (size_t i = 0; i < nd->n; i++)
        if (eval(sh, nd->v[i], out))
            return EV_RAISE;
    return EV_OK;
}

static int eval(struct shell *sh, const struct node *nd, ax_term_t *out)
{
    switch (nd->kind) {
    case N_LIT:
        *out = nd->term;
        return EV_OK;
    case N_VAR:
    case N_WILD:
        *out = lang_lookup(sh, nd->term);
        return *out != AX_NONE ? EV_OK
                               : raise_tagged(sh, "unbound_var", nd->term);
    case N_TUPLE:
    case N_LIST:
        return eval_container(sh, nd, out);
    case N_MAP:
        return eval_map(sh, nd, out);
    case N_MATCH: {
        int m;

        if (eval(sh, nd->b, out))
            return EV_RAISE;
        m = match_or_undo(sh, nd->a, *out);
        return m == 1 ? EV_OK
                      : m < 0 ? EV_RAISE : raise_tagged(sh, "badmatch", *out);
    }
    case N_SEND:
        return eval_send(sh, nd, out);
    case N_BINOP:
        return eval_binop(sh, nd, out);
    case N_UNOP:
        return eval_unop(sh, nd, out);
    case N_CALL:
        return eval_call(sh, nd, out);
    case N_BLOCK:
        return eval_block(sh, nd, out);
    case N_CASE:
        return eval_case(sh, nd, out);
    case N_RECEIVE:
        return eval_receive(sh, nd, out);
    default:
        return lang_raise(sh, EXC_ERROR, lang_atom("badarg"), NULL);
    }
}

int lang_eval(struct shell *sh, const struct form *f, ax_term_t *out)
{
    return eval(sh, f->body, out);
}
