/*
 * order.c - Erlang's term order, equality and hashing (ax.h "Order").
 *
 * Comparison walks both terms at once with an explicit stack of pending
 * pairs, so nesting depth is bounded by memory, not by the C stack. The
 * first difference in depth-first, left-to-right order decides, which is
 * Erlang's lexicographic order for tuples and lists. Map keys always
 * compare exactly (#{1 => a} == #{1.0 => a} is false, as in Erlang).
 *
 * The hash folds a pre-order walk (kinds, sizes and scalars) into one
 * word, so terms that are =:= on any heap hash alike.
 */
#include "term.h"

#include <math.h>

#include "../core/assert.h"
#include "../core/hash.h"
#include "atom.h"
#include "etf.h"
#include "tstack.h"

/* Ranks of the types in the term order. */
enum rank {
    RANK_NUMBER = 1,
    RANK_ATOM,
    RANK_REF,
    RANK_PID = 6,
    RANK_TUPLE,
    RANK_MAP,
    RANK_NIL,
    RANK_LIST,
    RANK_BINARY
};

static enum rank rank_of(ax_term_t t)
{
    switch (ax_typeof(t)) {
    case AX_T_INT:
    case AX_T_FLOAT:
        return RANK_NUMBER;
    case AX_T_ATOM:
        return RANK_ATOM;
    case AX_T_REF:
        return RANK_REF;
    case AX_T_PID:
        return RANK_PID;
    case AX_T_TUPLE:
        return RANK_TUPLE;
    case AX_T_MAP:
        return RANK_MAP;
    case AX_T_NIL:
        return RANK_NIL;
    case AX_T_LIST:
        return RANK_LIST;
    case AX_T_BINARY:
        return RANK_BINARY;
    default:
        ax_unreachable();
    }
}

static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

/* An integer against a float, exactly (no rounding of large integers). */
static int cmp_int_float(int64_t i, double f)
{
    double t;

    if (f < -9223372036854775808.0)
        return 1;
    if (f >= 9223372036854775808.0)
        return -1;
    t = trunc(f);
    if ((int64_t)t != i)
        return cmp_i64(i, (int64_t)t);
    return f > t ? -1 : f < t;
}

static int cmp_numbers(ax_term_t a, ax_term_t b, bool exact)
{
    int64_t x;
    int64_t y;
    bool af = ax_is_float(a);
    bool bf = ax_is_float(b);
    int c;

    if (!af && !bf) {
        ax_get_int(a, &x);
        ax_get_int(b, &y);
        return cmp_i64(x, y);
    }
    if (af && bf) {
        double p = float_value(a);
        double q = float_value(b);

        if (p != q)
            return p < q ? -1 : 1;
        /* 0.0 == -0.0, but they are not =:= (as OTP 27). */
        return exact ? (int)signbit(q) - (int)signbit(p) : 0;
    }
    if (af) {
        ax_get_int(b, &y);
        c = -cmp_int_float(y, float_value(a));
    } else {
        ax_get_int(a, &x);
        c = cmp_int_float(x, float_value(b));
    }
    /* Equal in value: in exact order an integer comes first. */
    return c || !exact ? c : (af ? 1 : -1);
}

static int cmp_binaries(ax_term_t a, ax_term_t b)
{
    size_t la;
    size_t lb;
    const uint8_t *pa = ax_binary_data(a, &la);
    const uint8_t *pb = ax_binary_data(b, &lb);
    int c = memcmp(pa, pb, la < lb ? la : lb);

    if (c)
        return c < 0 ? -1 : 1;
    return cmp_u64(la, lb);
}

/*
 * Nodes compare by name, then creation, as Erlang orders them. An index
 * with no name (a pid parsed from text, never decoded) sorts after every
 * named node, by its number: a total order either way.
 */
static int cmp_nodes(unsigned a, unsigned b)
{
    ax_term_t na;
    ax_term_t nb;
    uint32_t ca;
    uint32_t cb;
    bool named_a;
    bool named_b;
    int c;

    if (a == b)
        return 0;
    named_a = ax__etf_node(a, &na, &ca);
    named_b = ax__etf_node(b, &nb, &cb);
    if (!named_a || !named_b)
        return named_a != named_b ? (named_a ? -1 : 1) : cmp_u64(a, b);
    c = ax__atom_compare(na, nb);
    return c ? c : cmp_u64(ca, cb);
}

static int cmp_refs(ax_term_t a, ax_term_t b)
{
    unsigned na = ref_nwords(a);
    unsigned nb = ref_nwords(b);
    int c = cmp_nodes(ref_node(a), ref_node(b));

    if (c)
        return c;
    if (na != nb)
        return cmp_u64(na, nb);
    for (unsigned i = na; i-- > 0;) {
        c = cmp_u64(ref_word(a, i), ref_word(b, i));
        if (c)
            return c;
    }
    return 0;
}

static int cmp_pids(ax_term_t a, ax_term_t b)
{
    int c = cmp_nodes(pid_node(a), pid_node(b));

    if (!c)
        c = cmp_u64(pid_number(a), pid_number(b));
    return c ? c : cmp_u64(pid_serial(a), pid_serial(b));
}

/* Pushes a pair to compare later (b above a), with its mode. */
static bool push_pair(struct tstack *s, ax_term_t a, ax_term_t b, bool exact)
{
    return ax__tstack_reserve(s, 3) && tstack_push(s, a) &&
           tstack_push(s, b) && tstack_push(s, exact);
}

/*
 * Compares a and b of the same rank at the top level; pushes the pairs of
 * children still to compare (last to compare pushed first). Returns the
 * verdict so far: nonzero ends the whole comparison.
 */
static int cmp_step(struct tstack *s, ax_term_t a, ax_term_t b, bool exact)
{
    switch (rank_of(a)) {
    case RANK_NUMBER:
        return cmp_numbers(a, b, exact);
    case RANK_ATOM:
        return ax__atom_compare(a, b);
    case RANK_REF:
        return cmp_refs(a, b);
    case RANK_PID:
        return cmp_pids(a, b);
    case RANK_BINARY:
        return cmp_binaries(a, b);
    case RANK_NIL:
        return 0;
    case RANK_LIST:
        if (!push_pair(s, ax_tail(a), ax_tail(b), exact) ||
            !push_pair(s, ax_head(a), ax_head(b), exact))
            ax__assert_fail("out of memory", __FILE__, __LINE__, __func__);
        return 0;
    case RANK_TUPLE: {
        size_t n = tuple_arity(a);
        int c = cmp_u64(n, tuple_arity(b));

        for (size_t i = n; !c && i-- > 0;)
            if (!push_pair(s, tuple_elems(a)[i], tuple_elems(b)[i], exact))
                ax__assert_fail("out of memory", __FILE__, __LINE__,
                                __func__);
        return c;
    }
    case RANK_MAP: {
        size_t n = map_count(a);
        int c = cmp_u64(n, map_count(b));

        for (size_t i = n; !c && i-- > 0;)
            if (!push_pair(s, map_vals(a)[i], map_vals(b)[i], exact))
                ax__assert_fail("out of memory", __FILE__, __LINE__,
                                __func__);
        for (size_t i = n; !c && i-- > 0;)
            if (!push_pair(s, map_keys(a)[i], map_keys(b)[i], true))
                ax__assert_fail("out of memory", __FILE__, __LINE__,
                                __func__);
        return c;
    }
    default:
        ax_unreachable();
    }
}

static int compare(ax_term_t a, ax_term_t b, bool exact)
{
    struct tstack s;
    int c = 0;

    tstack_init(&s);
    for (;;) {
        if (a != b) {
            enum rank ra = rank_of(a);
            enum rank rb = rank_of(b);

            c = ra != rb ? cmp_u64(ra, rb) : cmp_step(&s, a, b, exact);
            if (c)
                break;
        }
        if (tstack_empty(&s))
            break;
        exact = tstack_pop(&s);
        b = tstack_pop(&s);
        a = tstack_pop(&s);
    }
    tstack_destroy(&s);
    return c < 0 ? -1 : c > 0;
}

int ax_compare(ax_term_t a, ax_term_t b)
{
    return compare(a, b, false);
}

int ax_compare_exact(ax_term_t a, ax_term_t b)
{
    return compare(a, b, true);
}

bool ax_equal(ax_term_t a, ax_term_t b)
{
    return compare(a, b, false) == 0;
}

bool ax_equal_exact(ax_term_t a, ax_term_t b)
{
    return a == b || compare(a, b, true) == 0;
}

/* --- Hashing --------------------------------------------------------------- */

/* The part of the hash that a term contributes by itself, pushing its
 * children (in reverse, so they are visited in order). */
static uint64_t hash_step(struct tstack *s, ax_term_t t)
{
    size_t len;
    const uint8_t *data;
    bool ok = true;
    uint64_t shape;

    switch (ax_typeof(t)) {
    case AX_T_INT: {
        int64_t v;

        ax_get_int(t, &v);
        return ax__hash_combine(1, (uint64_t)v);
    }
    case AX_T_FLOAT: {
        double d = float_value(t);
        uint64_t bits;

        memcpy(&bits, &d, sizeof(bits));
        return ax__hash_combine(2, bits);
    }
    case AX_T_ATOM:
        return ax__hash_combine(3, ax__atom_hash(t));
    case AX_T_REF:
        return ax__hash_bytes(term_ptr(t) + 1,
                              8 * (ref_words_for(ref_nwords(t)) - 1), 4);
    case AX_T_PID:
        return ax__hash_combine(5, t);
    case AX_T_NIL:
        return 9;
    case AX_T_BINARY:
        data = ax_binary_data(t, &len);
        return ax__hash_bytes(data, len, 11);
    case AX_T_LIST:
        ok = tstack_push(s, ax_tail(t)) && tstack_push(s, ax_head(t));
        shape = 10;
        break;
    case AX_T_TUPLE:
        shape = *term_ptr(t); /* the header: type and arity */
        ok = ax__tstack_reserve(s, tuple_arity(t));
        for (size_t i = tuple_arity(t); ok && i-- > 0;)
            tstack_push(s, tuple_elems(t)[i]);
        break;
    case AX_T_MAP:
        shape = *term_ptr(t);
        ok = ax__tstack_reserve(s, 2 * map_count(t));
        for (size_t i = 2 * map_count(t); ok && i-- > 0;)
            tstack_push(s, map_keys(t)[i]);
        break;
    default:
        ax_unreachable();
    }
    if (!ok)
        ax__assert_fail("out of memory", __FILE__, __LINE__, __func__);
    return ax__hash_combine(7, shape);
}

uint64_t ax_hash(ax_term_t t)
{
    struct tstack s;
    uint64_t h = UINT64_C(0x6178);

    tstack_init(&s);
    for (;;) {
        h = ax__hash_combine(h, hash_step(&s, t));
        if (tstack_empty(&s))
            break;
        t = tstack_pop(&s);
    }
    tstack_destroy(&s);
    return h;
}
