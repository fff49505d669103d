/*
 * tstack.h - a growable stack of words for walking terms without recursion
 * (compare, hash, copy, print, encode): a term can be nested deeper than
 * any C stack, and a process's stack is small. The first TSTACK_LOCAL
 * words live in the struct, so shallow terms never touch malloc.
 */
#ifndef AX_TERM_TSTACK_H
#define AX_TERM_TSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/alloc.h"

#define TSTACK_LOCAL 64

struct tstack {
    uint64_t *items;
    size_t len;
    size_t cap;
    uint64_t local[TSTACK_LOCAL];
};

static inline void tstack_init(struct tstack *s)
{
    s->items = s->local;
    s->len = 0;
    s->cap = TSTACK_LOCAL;
}

static inline void tstack_destroy(struct tstack *s)
{
    if (s->items != s->local)
        ax__free(s->items);
}

/* Grows the stack to hold at least n more words; false on ENOMEM. */
bool ax__tstack_reserve(struct tstack *s, size_t n);

/* Pushes one word; false on ENOMEM (the stack is unchanged). */
static inline bool tstack_push(struct tstack *s, uint64_t w)
{
    if (s->len == s->cap && !ax__tstack_reserve(s, 1))
        return false;
    s->items[s->len++] = w;
    return true;
}

static inline uint64_t tstack_pop(struct tstack *s)
{
    return s->items[--s->len];
}

static inline bool tstack_empty(const struct tstack *s)
{
    return s->len == 0;
}

#endif /* AX_TERM_TSTACK_H */
