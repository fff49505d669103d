/*
 * registry.c - registered names: an atom to a pid, as erlang:register/2.
 *
 * One table for the node, an open-addressing hash of atom to pid under a
 * mutex (registration is rare; whereis is a lookup and an unlock). A
 * process keeps its own name in struct proc so that it can unregister
 * itself when it dies (and still name itself in its crash report after);
 * both change only under the mutex.
 */
#include "registry.h"

#include <pthread.h>

#include "../core/alloc.h"
#include "../core/hash.h"

struct entry {
    ax_term_t name; /* AX_NONE: empty; AX_ANY: deleted */
    ax_term_t pid;
};

static struct entry *table;
static size_t cap;   /* a power of two, or 0 */
static size_t used;  /* live and deleted entries */
static size_t count; /* live entries */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(ax_term_t name, bool for_insert)
{
    size_t i = (size_t)ax__hash_mix(name) & (cap - 1);

    for (;; i = (i + 1) & (cap - 1)) {
        ax_term_t n = table[i].name;

        if (n == name || n == AX_NONE || (for_insert && n == AX_ANY))
            return i;
    }
}

/* With lock held: room for one more entry. */
static int reserve(void)
{
    struct entry *old = table;
    size_t old_cap = cap;
    size_t n = cap ? cap : 16;

    if ((used + 1) * 2 <= cap)
        return 0;
    while ((count + 1) * 4 > n)
        n *= 2;
    table = ax__calloc(n, sizeof(*table));
    if (!table) {
        table = old;
        return AX_ENOMEM;
    }
    cap = n;
    used = count;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].name != AX_NONE && old[i].name != AX_ANY)
            table[slot_of(old[i].name, true)] = old[i];
    ax__free(old);
    return 0;
}

/* With lock held: the index of name's live entry, or -1. */
static ptrdiff_t find(ax_term_t name)
{
    size_t i;

    if (!cap)
        return -1;
    i = slot_of(name, false);
    return table[i].name == name ? (ptrdiff_t)i : -1;
}

int ax__registry_add(ax_term_t name, struct proc *p, ax_term_t pid)
{
    int err = 0;
    size_t i;

    if (!term_is_atom(name) || name == make_atom(ATOM_IDX_UNDEFINED))
        return AX_EBADARG;
    pthread_mutex_lock(&lock);
    if (find(name) >= 0 || p->name != AX_NONE ||
        atomic_load(&p->pid) != pid || atomic_load(&p->state) == PS_EXITING)
        err = AX_EBADARG;
    else
        err = reserve();
    if (!err) {
        i = slot_of(name, true);
        if (table[i].name == AX_NONE)
            used++;
        table[i].name = name;
        table[i].pid = pid;
        count++;
        p->name = name;
    }
    pthread_mutex_unlock(&lock);
    return err;
}

int ax__registry_remove(ax_term_t name, ax_term_t pid)
{
    ptrdiff_t i;
    struct proc *p = NULL;
    int err = 0;

    pthread_mutex_lock(&lock);
    i = term_is_atom(name) ? find(name) : -1;
    if (i < 0 || (pid != AX_NONE && table[i].pid != pid)) {
        err = AX_EBADARG;
    } else {
        p = ax__ptab_lookup(table[i].pid);
        table[i].name = AX_ANY;
        count--;
        /* An exiting process keeps its note, for its crash report; its
         * slot's next spawn clears it. */
        if (p && p->name == name && atomic_load(&p->state) != PS_EXITING)
            p->name = AX_NONE;
    }
    pthread_mutex_unlock(&lock);
    return err;
}

ax_term_t ax__registry_lookup(ax_term_t name)
{
    ptrdiff_t i;
    ax_term_t pid = AX_NONE;

    pthread_mutex_lock(&lock);
    i = term_is_atom(name) ? find(name) : -1;
    if (i >= 0)
        pid = table[i].pid;
    pthread_mutex_unlock(&lock);
    return pid;
}

ax_term_t ax__registry_list(ax_heap_t *h)
{
    ax_term_t list = AX_NIL;

    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < cap && list != AX_NONE; i++)
        if (table[i].name != AX_NONE && table[i].name != AX_ANY)
            list = ax_cons(h, table[i].name, list);
    pthread_mutex_unlock(&lock);
    return list;
}

void ax__registry_clear(void)
{
    pthread_mutex_lock(&lock);
    ax__free(table);
    table = NULL;
    cap = used = count = 0;
    pthread_mutex_unlock(&lock);
}
