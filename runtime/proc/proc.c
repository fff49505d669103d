/*
 * proc.c - a process's own parts: heap, extension, and the bookkeeping of
 * its links and monitors (proc.h). Only the process itself calls these.
 * Its last message (last_msg) lives on its heap, so every collection of
 * that heap goes through ax__proc_gc, which keeps it.
 */
#include "proc.h"

#include <stdlib.h>
#include <string.h>

#include "../core/alloc.h"

ax_oom_fn ax__proc_oom;

ax_heap_t *ax__proc_heap(struct proc *p)
{
    if (!p->heap) {
        p->heap = ax_heap_new();
        if (p->heap)
            ax_heap_set_oom(p->heap, ax__proc_oom, p);
    }
    return p->heap;
}

struct proc_ext *ax__proc_ext(struct proc *p)
{
    if (!p->ext)
        p->ext = ax__calloc(1, sizeof(*p->ext));
    return p->ext;
}

void ax__proc_clear(struct proc *p)
{
    struct msg *m;

    while ((m = p->queue)) {
        p->queue = m->qnext;
        ax__msg_free(m);
    }
    p->queue_tail = &p->queue;
    p->queue_len = 0;
    p->marker = NULL;
    p->marker_ref = 0;
    if (p->ext) {
        ax__free(p->ext->links);
        ax__free(p->ext->monitors);
        ax__free(p->ext->watchers);
        ax__free(p->ext->dropped);
        ax__free(p->ext);
        p->ext = NULL;
    }
    ax_heap_free(p->heap);
    p->heap = NULL;
    p->last_msg = AX_NONE;
}

/* Roots up to this many are copied on the stack; most callers pass one. */
#define GC_ROOTS_LOCAL 8

int ax__proc_gc(struct proc *p, ax_term_t *roots, size_t n,
                ax_gc_kind_t kind)
{
    ax_term_t local[GC_ROOTS_LOCAL];
    ax_term_t *all = local;
    int err;

    if (p->last_msg == AX_NONE || term_is_immed(p->last_msg))
        return ax_heap_gc(p->heap, roots, n, kind);
    if (n >= GC_ROOTS_LOCAL &&
        !(all = ax__malloc_array(n + 1, sizeof(*all)))) {
        p->last_msg = AX_NONE; /* the report goes without it */
        return ax_heap_gc(p->heap, roots, n, kind);
    }
    if (n)
        memcpy(all, roots, n * sizeof(*all));
    all[n] = p->last_msg;
    err = ax_heap_gc(p->heap, all, n + 1, kind);
    if (!err && n)
        memcpy(roots, all, n * sizeof(*all));
    if (!err)
        p->last_msg = all[n];
    if (all != local)
        ax__free(all);
    return err;
}

/* Appends one element to a growable array. */
static int grow(void **arr, size_t *len, size_t *cap, size_t size)
{
    void *bigger;
    size_t n = *cap ? *cap * 2 : 4;

    if (*len < *cap)
        return 0;
    bigger = ax__realloc_array(*arr, n, size);
    if (!bigger)
        return AX_ENOMEM;
    *arr = bigger;
    *cap = n;
    return 0;
}

int ax__proc_add_link(struct proc *p, ax_term_t pid)
{
    struct proc_ext *e = ax__proc_ext(p);

    if (!e)
        return AX_ENOMEM;
    if (ax__proc_has_link(p, pid))
        return 0;
    if (grow((void **)&e->links, &e->nlinks, &e->links_cap,
             sizeof(*e->links)))
        return AX_ENOMEM;
    e->links[e->nlinks++] = pid;
    return 0;
}

bool ax__proc_has_link(const struct proc *p, ax_term_t pid)
{
    if (!p->ext)
        return false;
    for (size_t i = 0; i < p->ext->nlinks; i++)
        if (p->ext->links[i] == pid)
            return true;
    return false;
}

bool ax__proc_remove_link(struct proc *p, ax_term_t pid)
{
    struct proc_ext *e = p->ext;

    for (size_t i = 0; e && i < e->nlinks; i++) {
        if (e->links[i] == pid) {
            e->links[i] = e->links[--e->nlinks];
            return true;
        }
    }
    return false;
}

static int add_mon(struct monitor **arr, size_t *len, size_t *cap,
                   uint64_t ref, ax_term_t pid)
{
    if (grow((void **)arr, len, cap, sizeof(**arr)))
        return AX_ENOMEM;
    (*arr)[*len].ref = ref;
    (*arr)[*len].pid = pid;
    (*len)++;
    return 0;
}

static bool remove_mon(struct monitor *arr, size_t *len, uint64_t ref,
                       ax_term_t *pid)
{
    for (size_t i = 0; i < *len; i++) {
        if (arr[i].ref == ref) {
            if (pid)
                *pid = arr[i].pid;
            arr[i] = arr[--*len];
            return true;
        }
    }
    return false;
}

int ax__proc_add_monitor(struct proc *p, uint64_t ref, ax_term_t pid)
{
    struct proc_ext *e = ax__proc_ext(p);

    return e ? add_mon(&e->monitors, &e->nmonitors, &e->monitors_cap, ref,
                       pid)
             : AX_ENOMEM;
}

bool ax__proc_remove_monitor(struct proc *p, uint64_t ref, ax_term_t *pid)
{
    return p->ext && remove_mon(p->ext->monitors, &p->ext->nmonitors, ref,
                                pid);
}

int ax__proc_add_watcher(struct proc *p, uint64_t ref, ax_term_t pid)
{
    struct proc_ext *e = ax__proc_ext(p);

    return e ? add_mon(&e->watchers, &e->nwatchers, &e->watchers_cap, ref,
                       pid)
             : AX_ENOMEM;
}

bool ax__proc_remove_watcher(struct proc *p, uint64_t ref)
{
    return p->ext && remove_mon(p->ext->watchers, &p->ext->nwatchers, ref,
                                NULL);
}

int ax__proc_drop_replies(struct proc *p, uint64_t ref)
{
    struct proc_ext *e = ax__proc_ext(p);

    if (!e)
        return AX_ENOMEM;
    if (!e->dropped) {
        e->dropped = ax__calloc(DROPPED_MAX, sizeof(*e->dropped));
        if (!e->dropped)
            return AX_ENOMEM;
    }
    e->dropped[e->dropped_next] = ref;
    e->dropped_next = (e->dropped_next + 1) % DROPPED_MAX;
    if (e->ndropped < DROPPED_MAX)
        e->ndropped++;
    return 0;
}

bool ax__proc_is_dropped_reply(struct proc *p, ax_term_t term)
{
    struct proc_ext *e = p->ext;
    uint64_t ref;

    if (!e || !e->ndropped || boxed_type(term) != HDR_TUPLE ||
        tuple_arity(term) != 2)
        return false;
    ref = ref_local_number(tuple_elems(term)[0]);
    for (size_t i = 0; ref && i < DROPPED_MAX; i++) {
        if (e->dropped[i] == ref) {
            e->dropped[i] = 0;
            e->ndropped--;
            return true;
        }
    }
    return false;
}
