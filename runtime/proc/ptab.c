/*
 * ptab.c - the process table: pid number to struct proc.
 *
 * A fixed array of slots sized at node start, each holding a pointer to
 * its struct proc (made on the slot's first use and kept until the node
 * stops). Lookups are lock-free: an acquire load of the slot, then of the
 * pid, which a spawn publishes with release after the struct is ready.
 * Allocation takes a mutex: freed slots wait in a FIFO, and are reused
 * only once REUSE_AFTER of them wait, so a number is not reused soon; the
 * serial number in the pid changes at every reuse in any case.
 */
#include "proc.h"

#include <pthread.h>
#include <stdlib.h>

#include "../core/alloc.h"

#define REUSE_AFTER 1024

static _Atomic(struct proc *) *slots;
static size_t limit;
static size_t next_new;        /* slots below it have been used */
static uint32_t *fifo;         /* freed slot numbers, a ring */
static size_t fifo_head;
static size_t fifo_len;
static atomic_size_t live;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Process structs come from slabs of SLAB_PROCS, cache-line aligned (the
 * struct keeps what senders write on a line of its own, proc.h), and go
 * back only when the table is destroyed. Guarded by lock.
 */
#define SLAB_PROCS 64

struct slab {
    struct slab *next;
    size_t used;
    struct proc *procs; /* SLAB_PROCS of them */
};

static struct slab *slabs;

int ax__ptab_init(size_t max)
{
    if (max == 0 || max > PID_NUMBER_MAX + 1)
        return AX_EINVAL;
    slots = ax__calloc(max, sizeof(*slots));
    fifo = ax__malloc_array(max, sizeof(*fifo));
    if (!slots || !fifo) {
        ax__free(slots);
        ax__free(fifo);
        slots = NULL;
        fifo = NULL;
        return AX_ENOMEM;
    }
    limit = max;
    next_new = 0;
    fifo_head = fifo_len = 0;
    atomic_store(&live, 0);
    return 0;
}

void ax__ptab_destroy(void)
{
    struct slab *sl;

    while ((sl = slabs)) {
        slabs = sl->next;
        ax__free(sl->procs);
        ax__free(sl);
    }
    ax__free(slots);
    ax__free(fifo);
    slots = NULL;
    fifo = NULL;
    limit = next_new = 0;
}

/* Called with lock held: the slot number to use next, or -1. */
static ptrdiff_t pick_slot(void)
{
    size_t i;

    if (fifo_len > REUSE_AFTER || (next_new == limit && fifo_len > 0)) {
        i = fifo[fifo_head];
        fifo_head = (fifo_head + 1) % limit;
        fifo_len--;
        return (ptrdiff_t)i;
    }
    if (next_new < limit)
        return (ptrdiff_t)next_new++;
    return -1;
}

/* Called with lock held: a zeroed struct from the current slab. */
static struct proc *slab_alloc(void)
{
    struct slab *sl = slabs;

    if (!sl || sl->used == SLAB_PROCS) {
        sl = ax__malloc(sizeof(*sl));
        if (!sl)
            return NULL;
        sl->procs = ax__calloc_aligned(64, SLAB_PROCS * sizeof(struct proc));
        if (!sl->procs) {
            ax__free(sl);
            return NULL;
        }
        sl->used = 0;
        sl->next = slabs;
        slabs = sl;
    }
    return &sl->procs[sl->used++];
}

static struct proc *new_slot_proc(void)
{
    struct proc *p = slab_alloc();

    if (!p)
        return NULL;
    ax__mailbox_init(&p->mbox);
    atomic_flag_clear(&p->siglock);
    atomic_store_explicit(&p->pid, AX_NONE, memory_order_relaxed);
    atomic_store_explicit(&p->state, PS_FREE, memory_order_relaxed);
    return p;
}

struct proc *ax__ptab_alloc(ax_term_t *pid)
{
    struct proc *p = NULL;
    ptrdiff_t i;

    pthread_mutex_lock(&lock);
    i = pick_slot();
    if (i >= 0) {
        p = atomic_load_explicit(&slots[i], memory_order_relaxed);
        if (p) {
            p->serial = (uint32_t)((p->serial + 1) & PID_SERIAL_MAX);
        } else if ((p = new_slot_proc())) {
            atomic_store_explicit(&slots[i], p, memory_order_release);
        } else {
            fifo[(fifo_head + fifo_len++) % limit] = (uint32_t)i;
        }
    }
    pthread_mutex_unlock(&lock);
    if (!p)
        return NULL;
    *pid = make_pid(0, (uint64_t)i, p->serial);
    atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return p;
}

void ax__ptab_publish(struct proc *p, ax_term_t pid)
{
    atomic_store_explicit(&p->pid, pid, memory_order_release);
}

/* Puts a thread's freed slot numbers into the FIFO, under the lock once
 * for the lot. */
static void flush_freed(struct freed *f)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < f->n; i++)
        fifo[(fifo_head + fifo_len++) % limit] = f->slots[i];
    pthread_mutex_unlock(&lock);
    f->n = 0;
}

void ax__ptab_release(struct proc *p, struct freed *f)
{
    ax_term_t pid = atomic_load_explicit(&p->pid, memory_order_relaxed);

    atomic_store_explicit(&p->pid, AX_NONE, memory_order_release);
    atomic_store_explicit(&p->state, PS_FREE, memory_order_release);
    atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
    if (!f) {
        struct freed one = {.n = 1, .slots = {(uint32_t)pid_number(pid)}};

        flush_freed(&one);
        return;
    }
    f->slots[f->n++] = (uint32_t)pid_number(pid);
    if (f->n == FREED_BATCH)
        flush_freed(f);
}

void ax__ptab_flush(struct freed *f)
{
    if (f->n)
        flush_freed(f);
}

struct proc *ax__ptab_lookup(ax_term_t pid)
{
    uint64_t i;
    struct proc *p;

    if (!term_is_pid(pid) || pid_node(pid) != 0 || !slots)
        return NULL;
    i = pid_number(pid);
    if (i >= limit)
        return NULL;
    p = atomic_load_explicit(&slots[i], memory_order_acquire);
    if (!p || atomic_load_explicit(&p->pid, memory_order_acquire) != pid)
        return NULL;
    return p;
}

size_t ax__ptab_count(void)
{
    return atomic_load_explicit(&live, memory_order_relaxed);
}

size_t ax__ptab_limit(void)
{
    return limit;
}

void ax__ptab_foreach(void (*fn)(struct proc *p, void *arg), void *arg)
{
    size_t n;

    pthread_mutex_lock(&lock);
    n = next_new;
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; i < n; i++) {
        struct proc *p = atomic_load_explicit(&slots[i],
                                              memory_order_acquire);

        if (p && atomic_load_explicit(&p->pid, memory_order_acquire))
            fn(p, arg);
    }
}

void ax__ptab_foreach_slot(void (*fn)(struct proc *p, void *arg), void *arg)
{
    for (size_t i = 0; i < next_new; i++) {
        struct proc *p = atomic_load_explicit(&slots[i],
                                              memory_order_acquire);

        if (p)
            fn(p, arg);
    }
}
