/*
 * spawn.c - making processes, registered names, and what the API tells
 * about a process (ax.h "Processes").
 *
 * A new process is complete before anyone can see it: its links and
 * monitor are in place on both sides and its name registered before its
 * pid is published and it is queued, so ax_spawn_link and
 * ax_spawn_monitor leave no moment where the child could die unnoticed.
 */
#include "sched.h"

#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../core/alloc.h"
#include "../proc/registry.h"
#include "../term/atom.h"

ax_term_t ax_self(void)
{
    struct proc *p = ax__proc_self();

    return p ? atomic_load_explicit(&p->pid, memory_order_relaxed)
             : AX_NONE;
}

ax_heap_t *ax_heap(void)
{
    struct proc *p = ax__proc_self();
    ax_heap_t *h;

    if (!p)
        return NULL;
    h = ax__proc_heap(p);
    if (!h)
        ax__proc_exit(p, make_atom(ATOM_IDX_OOM));
    return h;
}

/* Fills a fresh process struct; its argument is copied to its heap. */
static int init_proc(struct proc *p, const ax_spawn_opts_t *o,
                     ax_term_t parent)
{
    p->kind = o->handler ? PK_HANDLER : PK_BODY;
    p->flags = (o->flags & AX_SPAWN_TRAP_EXIT) ? PF_TRAP_EXIT : 0;
    p->wait_seq = 0;
    p->timed_out = false;
    p->gc_asked = false;
    p->queue = NULL;
    p->queue_tail = &p->queue;
    p->queue_len = 0;
    p->marker = NULL;
    p->marker_ref = 0;
    p->timeout = NULL;
    p->name = AX_NONE;
    p->reductions = 0;
    p->stack = NULL;
    atomic_store_explicit(&p->code, NULL, memory_order_relaxed);
    atomic_store_explicit(&p->module, AX_NONE, memory_order_relaxed);
    atomic_store_explicit(&p->version, AX_NONE, memory_order_relaxed);
    p->parent = parent;
    if (o->handler)
        p->fn.handler = o->handler;
    else
        p->fn.body = o->body;
    p->state_term = o->arg;
    if (!term_is_immed(o->arg)) {
        ax_heap_t *h = ax__proc_heap(p);

        p->state_term = h ? ax_copy(h, o->arg) : AX_NONE;
        if (p->state_term == AX_NONE)
            return AX_ENOMEM;
    }
    return 0;
}

/* Links and monitors the child from the caller (the parent, a process). */
static int connect(struct proc *parent, struct proc *child, ax_term_t cpid,
                   unsigned flags, uint64_t n, ax_term_t *mref)
{
    ax_term_t ppid = atomic_load(&parent->pid);

    if ((flags & AX_SPAWN_LINK) &&
        (ax__proc_add_link(child, ppid) || ax__proc_add_link(parent, cpid)))
        return AX_ENOMEM;
    if (!(flags & AX_SPAWN_MONITOR))
        return 0;
    if (ax__proc_add_watcher(child, n, ppid) ||
        ax__proc_add_monitor(parent, n, cpid))
        return AX_ENOMEM;
    if (mref && (*mref = ax__ref_term(ax_heap(), n)) == AX_NONE)
        return AX_ENOMEM;
    return 0;
}

int ax_spawn_opt(const ax_spawn_opts_t *o, ax_term_t *pid_out,
                 ax_term_t *mref)
{
    return ax__spawn_ref(o, ax__new_ref_number(), pid_out, mref);
}

int ax__spawn_ref(const ax_spawn_opts_t *o, uint64_t n, ax_term_t *pid_out,
                  ax_term_t *mref)
{
    struct proc *self = ax__proc_self();
    struct proc *p;
    ax_term_t pid;
    int err;

    if (!atomic_load(&ax__node.running))
        return AX_ESTATE;
    if (!o || !o->body == !o->handler)
        return AX_EINVAL;
    ax__flush(); /* the child may send where the parent already did */
    if ((o->flags & (AX_SPAWN_LINK | AX_SPAWN_MONITOR)) && !self)
        return AX_ENOTPROC;
    p = ax__ptab_alloc(&pid);
    if (!p)
        return AX_ESYSLIMIT;
    err = init_proc(p, o, self ? atomic_load(&self->pid) : AX_NONE);
    if (!err && self)
        err = connect(self, p, pid, o->flags, n, mref);
    atomic_store(&p->state, PS_RUNNABLE);
    ax__ptab_publish(p, pid);
    if (!err && o->name != AX_NONE && o->name)
        err = ax__registry_add(o->name, p, pid);
    if (err) {
        if (self && (o->flags & AX_SPAWN_LINK))
            ax__proc_remove_link(self, pid);
        if (self && (o->flags & AX_SPAWN_MONITOR))
            ax__proc_remove_monitor(self, n, NULL);
        ax__proc_clear(p);
        ax__ptab_release(p, NULL);
        return err;
    }
    if (self)
        sched_count(&ax__sched_self()->spawns, 1);
    ax__sched_enqueue(p, false);
    if (pid_out)
        *pid_out = pid;
    return 0;
}

int ax_spawn(ax_body_fn fn, ax_term_t arg, ax_term_t *pid)
{
    ax_spawn_opts_t o = {.body = fn, .arg = arg, .name = AX_NONE};

    return ax_spawn_opt(&o, pid, NULL);
}

int ax_spawn_link(ax_body_fn fn, ax_term_t arg, ax_term_t *pid)
{
    ax_spawn_opts_t o = {.body = fn, .arg = arg, .flags = AX_SPAWN_LINK,
                         .name = AX_NONE};

    return ax_spawn_opt(&o, pid, NULL);
}

int ax_spawn_monitor(ax_body_fn fn, ax_term_t arg, ax_term_t *pid,
                     ax_term_t *mref)
{
    ax_spawn_opts_t o = {.body = fn, .arg = arg, .flags = AX_SPAWN_MONITOR,
                         .name = AX_NONE};

    return ax_spawn_opt(&o, pid, mref);
}

int ax_spawn_handler(ax_handler_fn fn, ax_term_t state, ax_term_t *pid)
{
    ax_spawn_opts_t o = {.handler = fn, .arg = state, .name = AX_NONE};

    return ax_spawn_opt(&o, pid, NULL);
}

size_t ax_process_size(void)
{
    return sizeof(struct proc) + sizeof(struct proc *);
}

/* --- Registered names ------------------------------------------------------ */

int ax_register(ax_term_t name, ax_term_t pid)
{
    struct proc *p = ax__ptab_lookup(pid);

    if (!p)
        return AX_EBADARG;
    return ax__registry_add(name, p, pid);
}

int ax_unregister(ax_term_t name)
{
    return ax__registry_remove(name, AX_NONE);
}

ax_term_t ax_whereis(ax_term_t name)
{
    return ax__registry_lookup(name);
}

ax_term_t ax_registered(ax_heap_t *h)
{
    return ax__registry_list(h);
}

/* --- Process information ------------------------------------------------------
 *
 * Another process's lists and heap are its own: a request travels to it
 * as a signal, it fills in a snapshot the next time it handles signals,
 * and the requester (a process, which blocks as in a receive, or a plain
 * thread, which waits on a futex) makes terms of the snapshot.
 */

static void snapshot_free(struct info_req *r)
{
    ax__free(r->links);
    ax__free(r->monitors);
    ax__free(r->watchers);
    for (size_t i = 0; i < r->nmsgs; i++) {
        ax__frag_release(r->msgs[i].f);
        ax__free(r->msgs[i].f);
    }
    ax__free(r->msgs);
}

/* Copies t into r's next message copy, through scratch (which bounds it
 * by the words left): false if it does not fit or memory runs out. */
static bool copy_msg(struct info_req *r, struct frag *scratch, size_t *left,
                     ax_term_t t)
{
    struct msg_copy *c = &r->msgs[r->nmsgs];
    ax_term_t root = ax__frag_copy_bounded(scratch, *left, t);

    if (root == AX_NONE)
        return false;
    c->f = ax__malloc(sizeof(*c->f) + scratch->words * sizeof(uint64_t));
    if (c->f) {
        c->f->words = scratch->words;
        c->term = ax__frag_copy(c->f, root);
        *left -= scratch->words;
        r->nmsgs++;
    }
    ax__frag_release(scratch);
    return c->f != NULL;
}

/* The first r->want_msgs messages of p's queue into r, in p's context. */
static void copy_msgs(struct proc *p, struct info_req *r)
{
    size_t left = r->msg_words;
    struct frag *scratch = ax__malloc(sizeof(*scratch) +
                                      left * sizeof(uint64_t));
    struct msg *m = p->queue;

    r->msgs = ax__malloc_array(r->want_msgs, sizeof(*r->msgs));
    if (!r->msgs || !scratch) {
        r->err = AX_ENOMEM;
        goto out_free_scratch;
    }
    for (; m && r->nmsgs < r->want_msgs; m = m->qnext)
        if (!copy_msg(r, scratch, &left, m->term)) {
            r->msgs_cut = true;
            break;
        }
out_free_scratch:
    ax__free(scratch);
}

static struct monitor *copy_mons(const struct monitor *m, size_t n)
{
    struct monitor *c = ax__malloc_array(n ? n : 1, sizeof(*c));

    if (c && n)
        memcpy(c, m, n * sizeof(*c));
    return c;
}

static ax_proc_status_t status_of(uint32_t state)
{
    switch (state) {
    case PS_WAITING:
        return AX_PS_WAITING;
    case PS_RUNNING:
        return AX_PS_RUNNING;
    case PS_EXITING:
        return AX_PS_EXITING;
    default:
        return AX_PS_RUNNABLE;
    }
}

/* Fills r from p; in p's own context. */
void ax__info_fill(struct proc *p, struct info_req *r)
{
    struct proc_ext *e = p->ext;
    size_t nl = e ? e->nlinks : 0;

    /* It runs now only to answer: say what it was doing. */
    r->status = (p->flags & PF_RECEIVING) ||
                        (p->kind == PK_HANDLER && !p->queue)
                    ? AX_PS_WAITING
                    : status_of(atomic_load(&p->state));
    r->name = p->name;
    r->reductions = p->reductions +
                    (uint64_t)((int64_t)SLICE_REDUCTIONS - p->budget);
    r->queue_len = p->queue_len;
    r->flags = p->flags;
    r->kind = p->kind;
    r->fn = p->kind == PK_HANDLER ? (void *)p->fn.handler : (void *)p->fn.body;
    if (p->heap)
        ax_heap_stats(p->heap, &r->heap);
    r->nlinks = nl;
    r->nmonitors = e ? e->nmonitors : 0;
    r->nwatchers = e ? e->nwatchers : 0;
    r->links = ax__malloc_array(nl ? nl : 1, sizeof(*r->links));
    r->monitors = copy_mons(e ? e->monitors : NULL, r->nmonitors);
    r->watchers = copy_mons(e ? e->watchers : NULL, r->nwatchers);
    if (r->links && nl)
        memcpy(r->links, e->links, nl * sizeof(*r->links));
    r->err = r->links && r->monitors && r->watchers ? 0 : AX_ENOMEM;
    if (!r->err && r->want_msgs)
        copy_msgs(p, r);
}

static int ask(struct proc *p, ax_term_t pid, struct info_req *r)
{
    struct proc *self = ax__proc_self();
    struct msg *m;
    int err;

    if (p == self) {
        ax__info_fill(p, r);
        return r->err;
    }
    r->requester = self ? atomic_load(&self->pid) : AX_NONE;
    r->seq = self ? ++self->wait_seq : 0;
    m = ax__msg_new(SIG_INFO, pid, r->requester, AX_NIL);
    if (!m)
        return AX_ENOMEM;
    m->ref = (uint64_t)(uintptr_t)r;
    err = ax__deliver_signal(p, pid, m);
    if (err)
        return err;
    ax__info_wait(r);
    return r->err;
}

static ax_term_t list_of_pids(ax_heap_t *h, const ax_term_t *pids, size_t n)
{
    return ax_list_v(h, n, pids);
}

static ax_term_t list_of_mons(ax_heap_t *h, const struct monitor *m,
                              size_t n, bool as_tuples)
{
    ax_term_t list = AX_NIL;

    for (size_t i = n; i-- > 0 && list != AX_NONE;) {
        ax_term_t e = as_tuples ? ax_tuple(h, 2, make_atom(ATOM_IDX_PROCESS),
                                           m[i].pid)
                                : m[i].pid;

        list = e == AX_NONE ? AX_NONE : ax_cons(h, e, list);
    }
    return list;
}

/*
 * {Module, Function, 1} for a C function: the object file it lives in
 * (its base name, without extension) and its symbol, from the dynamic
 * symbol table; a function that has no exported name shows as its
 * address.
 */
static ax_term_t function_term(ax_heap_t *h, void *fn)
{
    Dl_info info;
    char mod[64] = "c";
    char name[64];
    const char *base;

    snprintf(name, sizeof(name), "0x%" PRIxPTR, (uintptr_t)fn);
    if (dladdr(fn, &info)) {
        if (info.dli_sname)
            snprintf(name, sizeof(name), "%s", info.dli_sname);
        if (info.dli_fname) {
            base = strrchr(info.dli_fname, '/');
            snprintf(mod, sizeof(mod), "%s",
                     base ? base + 1 : info.dli_fname);
            mod[strcspn(mod, ".")] = '\0';
        }
    }
    return ax_tuple(h, 3, ax_atom(mod), ax_atom(name), make_small(1));
}

static int build(ax_heap_t *h, const struct info_req *r,
                 ax_process_info_t *out)
{
    out->status = r->status;
    out->registered_name = r->name != AX_NONE ? r->name : AX_NIL;
    out->reductions = r->reductions;
    out->message_queue_len = r->queue_len;
    out->trap_exit = r->flags & PF_TRAP_EXIT;
    out->has_stack = r->flags & PF_HAS_STACK;
    out->heap = r->heap;
    out->memory = sizeof(struct proc) +
                  8 * (r->heap.heap_size + r->heap.old_heap_size) +
                  (r->nlinks + 1) * 8 +
                  (r->nmonitors + r->nwatchers) * sizeof(struct monitor);
    out->links = list_of_pids(h, r->links, r->nlinks);
    out->monitors = list_of_mons(h, r->monitors, r->nmonitors, true);
    out->monitored_by = list_of_mons(h, r->watchers, r->nwatchers, false);
    out->initial_call = function_term(h, r->fn);
    out->current = (r->flags & PF_RECEIVING) && r->kind == PK_BODY
                       ? ax_tuple(h, 3, ax_atom("ax"), ax_atom("receive"),
                                  make_small(4))
                       : out->initial_call;
    if (out->links == AX_NONE || out->monitors == AX_NONE ||
        out->monitored_by == AX_NONE || out->initial_call == AX_NONE ||
        out->current == AX_NONE)
        return AX_ENOMEM;
    return 0;
}

int ax__process_messages(ax_term_t pid, size_t n, size_t max_bytes,
                         ax_heap_t *h, ax_term_t *list, size_t *total,
                         bool *cut)
{
    struct proc *p = ax__ptab_lookup(pid);
    struct info_req r;
    int err;

    memset(&r, 0, sizeof(r));
    *list = AX_NIL;
    if (!p)
        return AX_ENOPROC;
    r.want_msgs = n;
    r.msg_words = max_bytes / sizeof(uint64_t);
    err = ask(p, pid, &r);
    for (size_t i = r.nmsgs; !err && i-- > 0;) {
        const struct msg_copy *c = &r.msgs[i];
        ax_term_t t = ax__copy_sized(h, c->term, c->f->words);

        *list = t == AX_NONE ? AX_NONE : ax_cons(h, t, *list);
        if (*list == AX_NONE)
            err = AX_ENOMEM;
    }
    *total = r.queue_len;
    *cut = r.msgs_cut;
    snapshot_free(&r);
    return err;
}

int ax_process_info(ax_term_t pid, ax_heap_t *h, ax_process_info_t *out)
{
    struct proc *p = ax__ptab_lookup(pid);
    struct info_req r;
    int err;

    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    if (!h)
        h = ax_heap();
    if (!h)
        return AX_EINVAL;
    if (!p)
        return AX_ENOPROC;
    err = ask(p, pid, &r);
    out->pid = pid;
    if (!err)
        err = build(h, &r, out);
    snapshot_free(&r);
    return err;
}
