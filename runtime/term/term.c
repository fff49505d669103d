/*
 * term.c - constructing terms on a heap and reading them (ax.h "Terms").
 *
 * Every constructor allocates its object in one ax__heap_alloc() and fills
 * it completely before returning, so a heap never holds a half-made term.
 */
#include "term.h"

#include <math.h>
#include <stdlib.h>

#include "../core/alloc.h"
#include "../core/counter.h"
#include "atom.h"

ax_type_t ax_typeof(ax_term_t t)
{
    switch (term_tag(t)) {
    case TAG_LIST:
        return AX_T_LIST;
    case TAG_BOXED:
        switch (boxed_type(t)) {
        case HDR_TUPLE:
            return AX_T_TUPLE;
        case HDR_MAP:
            return AX_T_MAP;
        case HDR_FLOAT:
            return AX_T_FLOAT;
        case HDR_BIGINT:
            return AX_T_INT;
        case HDR_HEAPBIN:
        case HDR_REFBIN:
            return AX_T_BINARY;
        case HDR_REF:
            return AX_T_REF;
        default:
            return AX_T_NONE;
        }
    case TAG_IMMED:
        switch (t & IMM_MASK) {
        case IMM_SMALL:
            return AX_T_INT;
        case IMM_PID:
            return AX_T_PID;
        case IMM_ATOM:
            return AX_T_ATOM;
        default:
            return t == AX_NIL ? AX_T_NIL : AX_T_NONE;
        }
    default:
        return AX_T_NONE;
    }
}

const char *ax_type_name(ax_type_t type)
{
    static const char *const names[] = {
        [AX_T_NONE] = "none",     [AX_T_INT] = "integer",
        [AX_T_FLOAT] = "float",   [AX_T_ATOM] = "atom",
        [AX_T_REF] = "reference", [AX_T_PID] = "pid",
        [AX_T_TUPLE] = "tuple",   [AX_T_MAP] = "map",
        [AX_T_NIL] = "list",      [AX_T_LIST] = "list",
        [AX_T_BINARY] = "binary",
    };

    return (unsigned)type < sizeof(names) / sizeof(names[0])
               ? names[type]
               : "none";
}

/* --- Numbers -------------------------------------------------------------- */

ax_term_t ax_int(ax_heap_t *h, int64_t v)
{
    uint64_t *p;

    if (small_fits(v))
        return make_small(v);
    p = ax__heap_alloc(h, 2);
    if (!p)
        return AX_NONE;
    p[0] = make_header(HDR_BIGINT, 1);
    p[1] = (uint64_t)v;
    return make_boxed(p);
}

ax_term_t ax__make_float(ax_heap_t *h, double v)
{
    uint64_t *p = ax__heap_alloc(h, 2);

    if (!p)
        return AX_NONE;
    p[0] = make_header(HDR_FLOAT, 1);
    memcpy(&p[1], &v, sizeof(v));
    return make_boxed(p);
}

ax_term_t ax_float(ax_heap_t *h, double v)
{
    return isfinite(v) ? ax__make_float(h, v) : AX_NONE;
}

bool ax_is_int(ax_term_t t)
{
    return term_is_small(t) || boxed_type(t) == HDR_BIGINT;
}

bool ax_is_float(ax_term_t t)
{
    return boxed_type(t) == HDR_FLOAT;
}

bool ax_is_number(ax_term_t t)
{
    return ax_is_int(t) || ax_is_float(t);
}

int ax_get_int(ax_term_t t, int64_t *out)
{
    if (term_is_small(t))
        *out = small_value(t);
    else if (boxed_type(t) == HDR_BIGINT)
        *out = bigint_value(t);
    else
        return AX_EBADARG;
    return 0;
}

int ax_get_float(ax_term_t t, double *out)
{
    int64_t i;

    if (ax_is_float(t)) {
        *out = float_value(t);
        return 0;
    }
    if (ax_get_int(t, &i))
        return AX_EBADARG;
    *out = (double)i;
    return 0;
}

/* --- Tuples --------------------------------------------------------------- */

ax_term_t ax__make_tuple(ax_heap_t *h, size_t n, ax_term_t **elems)
{
    uint64_t *p = ax__heap_alloc(h, n + 1);

    if (!p)
        return AX_NONE;
    p[0] = make_header(HDR_TUPLE, n);
    *elems = (ax_term_t *)p + 1;
    return make_boxed(p);
}

ax_term_t ax_tuple_v(ax_heap_t *h, size_t n, const ax_term_t *elems)
{
    ax_term_t *e;
    ax_term_t t = ax__make_tuple(h, n, &e);

    if (t != AX_NONE && n)
        memcpy(e, elems, n * sizeof(*e));
    return t;
}

ax_term_t ax_tuple(ax_heap_t *h, size_t n, ...)
{
    ax_term_t *e;
    ax_term_t t = ax__make_tuple(h, n, &e);
    va_list ap;

    if (t == AX_NONE)
        return t;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        e[i] = va_arg(ap, ax_term_t);
    va_end(ap);
    return t;
}

bool ax_is_tuple(ax_term_t t)
{
    return boxed_type(t) == HDR_TUPLE;
}

size_t ax_tuple_size(ax_term_t t)
{
    return ax_is_tuple(t) ? tuple_arity(t) : 0;
}

ax_term_t ax_tuple_get(ax_term_t t, size_t i)
{
    if (!ax_is_tuple(t) || i >= tuple_arity(t))
        return AX_NONE;
    return tuple_elems(t)[i];
}

bool ax_is_record(ax_term_t t, ax_term_t tag, size_t n)
{
    return ax_is_tuple(t) && n > 0 && tuple_arity(t) == n &&
           tuple_elems(t)[0] == tag;
}

/* --- Lists ---------------------------------------------------------------- */

ax_term_t ax_cons(ax_heap_t *h, ax_term_t head, ax_term_t tail)
{
    uint64_t *p = ax__heap_alloc(h, 2);

    if (!p)
        return AX_NONE;
    p[0] = head;
    p[1] = tail;
    return make_cons_ptr(p);
}

ax_term_t ax_list_v(ax_heap_t *h, size_t n, const ax_term_t *elems)
{
    uint64_t *p;
    ax_term_t list = AX_NIL;

    if (n == 0)
        return AX_NIL;
    if (n > SIZE_MAX / 16)
        return AX_NONE;
    p = ax__heap_alloc(h, 2 * n);
    if (!p)
        return AX_NONE;
    /* Built back to front, so each cell's tail is already made: the cell
     * for element i sits at p + 2i and points at the cell after it. */
    for (size_t i = n; i-- > 0;) {
        p[2 * i] = elems[i];
        p[2 * i + 1] = list;
        list = make_cons_ptr(p + 2 * i);
    }
    return list;
}

bool ax_is_cons(ax_term_t t)
{
    return term_is_cons(t);
}

bool ax_is_list(ax_term_t t)
{
    return t == AX_NIL || term_is_cons(t);
}

ax_term_t ax_head(ax_term_t t)
{
    return term_is_cons(t) ? cons_cell(t)[0] : AX_NONE;
}

ax_term_t ax_tail(ax_term_t t)
{
    return term_is_cons(t) ? cons_cell(t)[1] : AX_NONE;
}

ptrdiff_t ax_list_length(ax_term_t t)
{
    ptrdiff_t n = 0;

    while (term_is_cons(t)) {
        n++;
        t = cons_cell(t)[1];
    }
    return t == AX_NIL ? n : -1;
}

/* --- Binaries ------------------------------------------------------------- */

/* Bytes of every shared binary alive: striped, as binaries are made and
 * freed on every scheduler. */
static struct counter binary_bytes;

uint64_t ax__binary_bytes_total(void)
{
    return ax__counter_read(&binary_bytes);
}

struct binary *ax__binary_new(const void *data, size_t size)
{
    struct binary *b;

    if (size > SIZE_MAX - sizeof(*b))
        return NULL;
    b = ax__malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->size = size;
    ax__counter_add(&binary_bytes, (int64_t)size);
    if (data && size)
        memcpy(b->data, data, size);
    return b;
}

void ax__binary_ref(struct binary *b)
{
    /* Relaxed: the caller already holds a reference, so the binary cannot
     * go away meanwhile; nothing is published by taking another. */
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void ax__binary_unref(struct binary *b)
{
    /* acq_rel: the last owner must see every other owner's reads done
     * before it frees (the same rule as shared_ptr). */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
        ax__counter_add(&binary_bytes, -(int64_t)b->size);
        ax__free(b);
    }
}

ax_term_t ax__make_binary(ax_heap_t *h, size_t size, uint8_t **data)
{
    uint64_t *p;

    if (size < AX_BINARY_SHARED_MIN) {
        p = ax__heap_alloc(h, heapbin_words_for(size));
        if (!p)
            return AX_NONE;
        p[0] = make_header(HDR_HEAPBIN, heapbin_words_for(size) - 1);
        p[1] = size;
        p[heapbin_words_for(size) - 1] = 0; /* no stray bytes in the tail */
        *data = (uint8_t *)(p + 2);
        return make_boxed(p);
    }
    struct binary *b = ax__binary_new(NULL, size);
    if (!b)
        return AX_NONE;
    p = ax__heap_alloc(h, 3);
    if (!p) {
        ax__binary_unref(b);
        return AX_NONE;
    }
    p[0] = make_header(HDR_REFBIN, 2);
    p[1] = (uint64_t)(uintptr_t)b;
    ax__heap_add_refbin(h, p);
    *data = b->data;
    return make_boxed(p);
}

ax_term_t ax_binary(ax_heap_t *h, const void *data, size_t len)
{
    uint8_t *dst;
    ax_term_t t = ax__make_binary(h, len, &dst);

    if (t != AX_NONE && len)
        memcpy(dst, data, len);
    return t;
}

ax_term_t ax_string(ax_heap_t *h, const char *s)
{
    return ax_binary(h, s, strlen(s));
}

bool ax_is_binary(ax_term_t t)
{
    enum hdr_type type = boxed_type(t);

    return type == HDR_HEAPBIN || type == HDR_REFBIN;
}

const uint8_t *ax_binary_data(ax_term_t t, size_t *len)
{
    switch (boxed_type(t)) {
    case HDR_HEAPBIN:
        *len = term_ptr(t)[1];
        return (const uint8_t *)(term_ptr(t) + 2);
    case HDR_REFBIN:
        *len = refbin_binary(t)->size;
        return refbin_binary(t)->data;
    default:
        return NULL;
    }
}

/* --- References and pids -------------------------------------------------- */

ax_term_t ax__make_ref(ax_heap_t *h, unsigned node, unsigned n,
                       const uint32_t *words)
{
    size_t size = ref_words_for(n);
    uint64_t *p = ax__heap_alloc(h, size);

    if (!p)
        return AX_NONE;
    p[0] = make_header(HDR_REF, size - 1);
    p[1] = (uint64_t)node << 8 | n;
    for (size_t i = 2; i < size; i++)
        p[i] = 0;
    for (unsigned i = 0; i < n; i++)
        p[2 + i / 2] |= (uint64_t)words[i] << (32 * (i % 2));
    return make_boxed(p);
}

bool ax_is_pid(ax_term_t t)
{
    return term_is_pid(t);
}

bool ax_is_ref(ax_term_t t)
{
    return boxed_type(t) == HDR_REF;
}
