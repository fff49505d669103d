/*
 * rates.c - reductions per second for a process list sorted by them
 * (rates.h): each session remembers the reductions every process had at
 * its previous such request, in an open-addressing table keyed by pid,
 * and a process's rate is what it did since, over the time since. A
 * process the table does not know (new since) counts from zero over that
 * time. The first request has no previous one: every rate is 0.
 *
 * Used by one session's requests, which its proxy runs one at a time:
 * no lock.
 */
#include "rates.h"

#include <stdlib.h>

#include "../core/alloc.h"
#include "../core/hash.h"
#include "../sched/sched.h"

struct table {
    size_t cap;    /* a power of two, or 0 */
    size_t n;
    uint64_t *pid; /* 0: a free slot (no pid is 0) */
    uint64_t *reds;
};

struct rates {
    struct table old;  /* the previous request's */
    struct table next; /* being filled by this one */
    uint64_t old_ns;   /* when old was made; 0: never */
    uint64_t now_ns;
};

static void table_free(struct table *t)
{
    ax__free(t->pid);
    ax__free(t->reds);
    *t = (struct table){0};
}

struct rates *ax__rates_new(void)
{
    return ax__calloc(1, sizeof(struct rates));
}

void ax__rates_free(struct rates *r)
{
    if (!r)
        return;
    table_free(&r->old);
    table_free(&r->next);
    ax__free(r);
}

int ax__rates_begin(struct rates *r, size_t expect)
{
    size_t cap = 64;

    while (cap < 2 * expect + 2)
        cap *= 2;
    table_free(&r->next);
    r->next.pid = ax__calloc(cap, sizeof(uint64_t));
    r->next.reds = ax__calloc(cap, sizeof(uint64_t));
    if (!r->next.pid || !r->next.reds) {
        table_free(&r->next);
        return AX_ENOMEM;
    }
    r->next.cap = cap;
    r->now_ns = ax__now_ns();
    return 0;
}

/* The slot of pid in t: its own, or the free one where it would go. */
static size_t slot_of(const struct table *t, uint64_t pid)
{
    size_t i = (size_t)ax__hash_mix(pid) & (t->cap - 1);

    while (t->pid[i] && t->pid[i] != pid)
        i = (i + 1) & (t->cap - 1);
    return i;
}

uint64_t ax__rates_note(struct rates *r, ax_term_t pid, uint64_t reductions)
{
    uint64_t was = 0;
    uint64_t ns = r->now_ns - r->old_ns;
    size_t i;

    /* The table keeps at most half full: a process table that grew past
     * what begin expected is not counted further. */
    if (r->next.cap && 2 * (r->next.n + 1) <= r->next.cap) {
        i = slot_of(&r->next, pid);
        if (!r->next.pid[i]) {
            r->next.pid[i] = pid;
            r->next.n++;
        }
        r->next.reds[i] = reductions;
    }
    if (!r->old_ns || !ns)
        return 0;
    if (r->old.cap) {
        i = slot_of(&r->old, pid);
        if (r->old.pid[i])
            was = r->old.reds[i];
    }
    if (reductions < was) /* a reused slot would have a new pid: not so */
        return 0;
    return (uint64_t)((double)(reductions - was) * 1e9 / (double)ns);
}

void ax__rates_end(struct rates *r)
{
    table_free(&r->old);
    r->old = r->next;
    r->next = (struct table){0};
    r->old_ns = r->now_ns;
}
