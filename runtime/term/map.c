/*
 * map.c - maps (ax.h "Maps").
 *
 * A map is one object: n keys in ascending exact term order, then their n
 * values. Lookup is a binary search; an update copies the object (maps are
 * immutable), which is cheap for the small maps processes mostly hold.
 */
#include "term.h"

#include <stdlib.h>

#include "../core/alloc.h"

static ax_term_t make_map_obj(ax_heap_t *h, size_t n, ax_term_t **keys)
{
    uint64_t *p;

    if (n > (SIZE_MAX / 8 - 1) / 2)
        return AX_NONE;
    p = ax__heap_alloc(h, 1 + 2 * n);
    if (!p)
        return AX_NONE;
    p[0] = make_header(HDR_MAP, 2 * n);
    *keys = (ax_term_t *)p + 1;
    return make_boxed(p);
}

ax_term_t ax_map_new(ax_heap_t *h)
{
    ax_term_t *k;

    return make_map_obj(h, 0, &k);
}

bool ax_is_map(ax_term_t t)
{
    return boxed_type(t) == HDR_MAP;
}

size_t ax_map_size(ax_term_t t)
{
    return ax_is_map(t) ? map_count(t) : 0;
}

/* The index of key in map, or -(insertion point) - 1. */
static ptrdiff_t map_find(ax_term_t map, ax_term_t key)
{
    const ax_term_t *keys = map_keys(map);
    size_t lo = 0;
    size_t hi = map_count(map);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ax_compare_exact(keys[mid], key);

        if (c == 0)
            return (ptrdiff_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(ptrdiff_t)lo - 1;
}

ax_term_t ax_map_get(ax_term_t map, ax_term_t key)
{
    ptrdiff_t i;

    if (!ax_is_map(map))
        return AX_NONE;
    i = map_find(map, key);
    return i >= 0 ? map_vals(map)[i] : AX_NONE;
}

bool ax_map_pair(ax_term_t map, size_t i, ax_term_t *key, ax_term_t *val)
{
    if (!ax_is_map(map) || i >= map_count(map))
        return false;
    *key = map_keys(map)[i];
    *val = map_vals(map)[i];
    return true;
}

ax_term_t ax_map_put(ax_heap_t *h, ax_term_t map, ax_term_t key,
                     ax_term_t val)
{
    size_t n;
    ptrdiff_t i;
    size_t at;
    ax_term_t *k;
    ax_term_t m;

    if (!ax_is_map(map))
        return AX_NONE;
    n = map_count(map);
    i = map_find(map, key);
    if (i >= 0) {
        m = make_map_obj(h, n, &k);
        if (m == AX_NONE)
            return m;
        memcpy(k, map_keys(map), 2 * n * sizeof(*k));
        k[n + (size_t)i] = val;
        return m;
    }
    at = (size_t)(-i - 1);
    m = make_map_obj(h, n + 1, &k);
    if (m == AX_NONE)
        return m;
    /* Keys: before, the new one, after; then the values likewise. */
    memcpy(k, map_keys(map), at * sizeof(*k));
    k[at] = key;
    memcpy(k + at + 1, map_keys(map) + at, (n - at) * sizeof(*k));
    memcpy(k + n + 1, map_vals(map), at * sizeof(*k));
    k[n + 1 + at] = val;
    memcpy(k + n + 2 + at, map_vals(map) + at, (n - at) * sizeof(*k));
    return m;
}

ax_term_t ax_map_remove(ax_heap_t *h, ax_term_t map, ax_term_t key)
{
    size_t n;
    ptrdiff_t i;
    size_t at;
    ax_term_t *k;
    ax_term_t m;

    if (!ax_is_map(map))
        return AX_NONE;
    i = map_find(map, key);
    if (i < 0)
        return map;
    n = map_count(map);
    at = (size_t)i;
    m = make_map_obj(h, n - 1, &k);
    if (m == AX_NONE)
        return m;
    memcpy(k, map_keys(map), at * sizeof(*k));
    memcpy(k + at, map_keys(map) + at + 1, (n - at - 1) * sizeof(*k));
    memcpy(k + n - 1, map_vals(map), at * sizeof(*k));
    memcpy(k + n - 1 + at, map_vals(map) + at + 1,
           (n - at - 1) * sizeof(*k));
    return m;
}

struct sort_ctx {
    const ax_term_t *keys;
};

/* Key order, then position: a stable sort, so of equal keys the last one
 * given ends up last. */
static int cmp_index(const void *x, const void *y, void *arg)
{
    const struct sort_ctx *ctx = arg;
    size_t i = *(const size_t *)x;
    size_t j = *(const size_t *)y;
    int c = ax_compare_exact(ctx->keys[i], ctx->keys[j]);

    return c ? c : (i < j ? -1 : 1);
}

ax_term_t ax__make_map(ax_heap_t *h, size_t n, ax_term_t *keys,
                       ax_term_t *vals)
{
    struct sort_ctx ctx = {keys};
    size_t *order;
    size_t m = 0;
    ax_term_t *k;
    ax_term_t map;

    order = ax__malloc_array(n, sizeof(*order));
    if (!order)
        return AX_NONE;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof(*order), cmp_index, &ctx);
    /* Keep the last of each run of equal keys. */
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n &&
            ax_compare_exact(keys[order[i]], keys[order[i + 1]]) == 0)
            continue;
        order[m++] = order[i];
    }
    map = make_map_obj(h, m, &k);
    if (map != AX_NONE) {
        for (size_t i = 0; i < m; i++) {
            k[i] = keys[order[i]];
            k[m + i] = vals[order[i]];
        }
    }
    ax__free(order);
    return map;
}

ax_term_t ax_map_from(ax_heap_t *h, size_t n, const ax_term_t *keys,
                      const ax_term_t *vals)
{
    ax_term_t *k;
    ax_term_t map;

    if (n > SIZE_MAX / 2 / sizeof(*k))
        return AX_NONE;
    k = ax__malloc_array(2 * n, sizeof(*k));
    if (!k)
        return AX_NONE;
    memcpy(k, keys, n * sizeof(*k));
    memcpy(k + n, vals, n * sizeof(*k));
    map = ax__make_map(h, n, k, k + n);
    ax__free(k);
    return map;
}
