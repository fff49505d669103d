/*
 * arith.c - Erlang arithmetic on terms (ax_arith, ax_negate): integers are
 * exact 64-bit values and an overflow is badarith, never a wrap; a float
 * result that is not finite is badarith too, as in Erlang.
 */
#include "term.h"

#include <math.h>

static int int_result(ax_heap_t *h, int64_t v, ax_term_t *out)
{
    ax_term_t t = ax_int(h, v);

    if (t == AX_NONE)
        return AX_ENOMEM;
    *out = t;
    return 0;
}

static int float_result(ax_heap_t *h, double v, ax_term_t *out)
{
    ax_term_t t;

    if (!isfinite(v))
        return AX_EBADARITH;
    t = ax__make_float(h, v);
    if (t == AX_NONE)
        return AX_ENOMEM;
    *out = t;
    return 0;
}

static int int_op(ax_heap_t *h, ax_arith_op_t op, int64_t x, int64_t y,
                  ax_term_t *out)
{
    int64_t r;

    switch (op) {
    case AX_OP_ADD:
        if (__builtin_add_overflow(x, y, &r))
            return AX_EBADARITH;
        break;
    case AX_OP_SUB:
        if (__builtin_sub_overflow(x, y, &r))
            return AX_EBADARITH;
        break;
    case AX_OP_MUL:
        if (__builtin_mul_overflow(x, y, &r))
            return AX_EBADARITH;
        break;
    case AX_OP_DIV:
        if (y == 0 || (x == INT64_MIN && y == -1))
            return AX_EBADARITH;
        r = x / y;
        break;
    case AX_OP_REM:
        if (y == 0)
            return AX_EBADARITH;
        r = y == -1 ? 0 : x % y;
        break;
    default:
        return AX_EBADARITH;
    }
    return int_result(h, r, out);
}

int ax_arith(ax_heap_t *h, ax_arith_op_t op, ax_term_t a, ax_term_t b,
             ax_term_t *out)
{
    int64_t x;
    int64_t y;
    double p;
    double q;

    if (op != AX_OP_FDIV && ax_get_int(a, &x) == 0 && ax_get_int(b, &y) == 0)
        return int_op(h, op, x, y, out);
    if (ax_get_float(a, &p) || ax_get_float(b, &q))
        return AX_EBADARITH;
    switch (op) {
    case AX_OP_ADD:
        return float_result(h, p + q, out);
    case AX_OP_SUB:
        return float_result(h, p - q, out);
    case AX_OP_MUL:
        return float_result(h, p * q, out);
    case AX_OP_FDIV:
        return q == 0.0 ? AX_EBADARITH : float_result(h, p / q, out);
    default:
        return AX_EBADARITH; /* div and rem take integers only */
    }
}

int ax_negate(ax_heap_t *h, ax_term_t a, ax_term_t *out)
{
    int64_t x;
    double p;

    if (ax_get_int(a, &x) == 0)
        return x == INT64_MIN ? AX_EBADARITH : int_result(h, -x, out);
    if (ax_get_float(a, &p))
        return AX_EBADARITH;
    return float_result(h, -p, out);
}
