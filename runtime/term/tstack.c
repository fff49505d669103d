/*
 * tstack.c - growth of the term-walking stack (tstack.h).
 */
#include "tstack.h"

#include <string.h>

bool ax__tstack_reserve(struct tstack *s, size_t n)
{
    size_t cap = s->cap;
    uint64_t *items;

    if (s->len + n <= cap)
        return true;
    while (cap < s->len + n)
        cap *= 2;
    if (s->items == s->local) {
        items = ax__malloc_array(cap, sizeof(*items));
        if (items)
            memcpy(items, s->local, s->len * sizeof(*items));
    } else {
        items = ax__realloc_array(s->items, cap, sizeof(*items));
    }
    if (!items)
        return false;
    s->items = items;
    s->cap = cap;
    return true;
}
