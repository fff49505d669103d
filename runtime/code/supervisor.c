/*
 * supervisor.c - OTP's supervisor (ax.h, "Supervisors"): a process that
 * starts its children in order, restarts them by its strategy when they
 * exit, gives up when they restart too often, and stops them in reverse
 * order.
 *
 * A supervisor is a body process that traps exits. It understands the
 * messages OTP's supervisor does:
 *   {'EXIT', Pid, Reason}     from a child (restarted or not by its
 *                             restart type), or from its parent (every
 *                             child is stopped, then it exits Reason);
 *   {'$gen_call', From, Req}  answered with ax_reply, Req being
 *                             which_children, count_children,
 *                             {start_child, Spec | ExtraArgs},
 *                             {terminate_child, Id | Pid},
 *                             {restart_child, Id} or {delete_child, Id},
 *                             with OTP's replies (ok, {ok, Pid},
 *                             {error, What}; a list; a map of counts);
 *   {'$ax_sys', From, Req}    gen.c's system requests: get_state (a map
 *                             of its flags, restarts and children) and
 *                             {stop, Reason} (every child is stopped,
 *                             then it exits Reason), for ax_get_state
 *                             and ax_gen_stop;
 *   {'$ax_sup_retry', Slot, Serial}, its own, to try a failed restart
 *                             again after what is already queued (OTP's
 *                             try_again_restart).
 * Anything else is dropped, as OTP's supervisor drops it.
 *
 * The API maps OTP's errors to codes: {error, not_found} is AX_EINVAL;
 * running, restarting, already_present, {already_started, Pid}, a
 * malformed spec ({bad_child_spec, Spec, What}) and extra arguments that
 * are not a list ({badarg, X}) are AX_EBADARG; simple_one_for_one (an
 * operation that strategy does not have) is AX_ENOTSUP; a child that did
 * not start ({failed_to_start_child, Id, Reason}) is AX_EEXITED.
 * Malformed flags and children at start are {supervisor_data, What} and
 * {bad_start_spec, Children} (OTP's reasons) or {bad_child_spec, Spec,
 * What}, What being OTP's: missing_id, {invalid_mfa, Start}, ...
 * Beyond OTP's keys, a child spec may say name => Atom: the child (a
 * server or a supervisor) is registered under that name.
 *
 * Invariants:
 * - Children are slots linked in start order (prev/next); a free slot
 *   holds [] for its terms. A slot's pid is in the pid index if and only
 *   if the slot is CS_RUNNING; a CS_RESTARTING slot keeps the pid it had.
 * - The tables (slots, index, restart times) live in off-heap binaries
 *   the process heap owns, and every term they hold is a root of each
 *   collection: however the supervisor ends, killed included, freeing its
 *   heap frees them (a body process has no destructor).
 * - Collections happen only at the top of the loop, so a term held in a
 *   C local never outlives the message being handled.
 * - The restart times are a ring of at most intensity + 1 entries: a
 *   restart drops the expired ones from its old end and adds one, so its
 *   cost does not grow with the restarts already made.
 */
#include "supervisor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../core/alloc.h"
#include "../core/assert.h"
#include "../core/hash.h"
#include "../mem/heap.h"
#include "../sched/sched.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define NO_SLOT UINT32_MAX
#define SHUTDOWN_BRUTAL (-2) /* brutal_kill; AX_INFINITY is infinity */
#define RING_MIN 8
#define INDEX_MIN 16       /* a power of two */
#define THREAD_POLL_MS 100 /* how often a starting thread looks */

/* --- Atoms ---------------------------------------------------------------- */

#define SUP_ATOMS(XX)                                                          \
    XX(ACTIVE, "active")                                                       \
    XX(ALREADY_PRESENT, "already_present")                                     \
    XX(ALREADY_STARTED, "already_started")                                     \
    XX(BAD_CHILD_SPEC, "bad_child_spec")                                       \
    XX(BAD_START_SPEC, "bad_start_spec")                                       \
    XX(BADARG, "badarg")                                                       \
    XX(BRUTAL_KILL, "brutal_kill")                                             \
    XX(CHILDREN, "children")                                                   \
    XX(COUNT_CHILDREN, "count_children")                                       \
    XX(DELETE_CHILD, "delete_child")                                           \
    XX(DOWN, "DOWN")                                                           \
    XX(DUPLICATE_CHILD_NAME, "duplicate_child_name")                           \
    XX(ERROR, "error")                                                         \
    XX(EXIT, "EXIT")                                                           \
    XX(FAILED_TO_START_CHILD, "failed_to_start_child")                         \
    XX(GET_STATE, "get_state")                                                 \
    XX(GEN_CALL, "$gen_call")                                                  \
    XX(ID, "id")                                                               \
    XX(INFINITY, "infinity")                                                   \
    XX(INTENSITY, "intensity")                                                 \
    XX(INVALID_CHILD_SPEC, "invalid_child_spec")                               \
    XX(INVALID_CHILD_TYPE, "invalid_child_type")                               \
    XX(INVALID_INTENSITY, "invalid_intensity")                                 \
    XX(INVALID_MFA, "invalid_mfa")                                             \
    XX(INVALID_NAME, "invalid_name")                                           \
    XX(INVALID_PERIOD, "invalid_period")                                       \
    XX(INVALID_RESTART_TYPE, "invalid_restart_type")                           \
    XX(INVALID_SHUTDOWN, "invalid_shutdown")                                   \
    XX(INVALID_STRATEGY, "invalid_strategy")                                   \
    XX(INVALID_TYPE, "invalid_type")                                           \
    XX(KILL, "kill")                                                           \
    XX(KILLED, "killed")                                                       \
    XX(MISSING_ID, "missing_id")                                               \
    XX(MISSING_START, "missing_start")                                         \
    XX(NAME, "name")                                                           \
    XX(NORMAL, "normal")                                                       \
    XX(NOT_FOUND, "not_found")                                                 \
    XX(OK, "ok")                                                               \
    XX(ONE_FOR_ALL, "one_for_all")                                             \
    XX(ONE_FOR_ONE, "one_for_one")                                             \
    XX(OOM, "oom")                                                             \
    XX(PERIOD, "period")                                                       \
    XX(PERMANENT, "permanent")                                                 \
    XX(PROCESS, "process")                                                     \
    XX(REST_FOR_ONE, "rest_for_one")                                           \
    XX(RESTART, "restart")                                                     \
    XX(RESTART_CHILD, "restart_child")                                         \
    XX(RESTARTING, "restarting")                                               \
    XX(RESTARTS, "restarts")                                                   \
    XX(RETRY, "$ax_sup_retry")                                                 \
    XX(RUNNING, "running")                                                     \
    XX(SHUTDOWN, "shutdown")                                                   \
    XX(SIMPLE_ONE_FOR_ONE, "simple_one_for_one")                               \
    XX(SPECS, "specs")                                                         \
    XX(START, "start")                                                         \
    XX(START_CHILD, "start_child")                                             \
    XX(STOP, "stop")                                                           \
    XX(STRATEGY, "strategy")                                                   \
    XX(SUPERVISOR, "supervisor")                                               \
    XX(SUPERVISOR_DATA, "supervisor_data")                                     \
    XX(SUPERVISORS, "supervisors")                                             \
    XX(SYS, "$ax_sys")                                                         \
    XX(SYSTEM_LIMIT, "system_limit")                                           \
    XX(TEMPORARY, "temporary")                                                 \
    XX(TERMINATE_CHILD, "terminate_child")                                     \
    XX(TRANSIENT, "transient")                                                 \
    XX(TYPE, "type")                                                           \
    XX(UNDEFINED, "undefined")                                                 \
    XX(WHICH_CHILDREN, "which_children")                                       \
    XX(WORKER, "worker")                                                       \
    XX(WORKERS, "workers")

enum {
#define ATOM_ENUM_(id, text) A_##id,
    SUP_ATOMS(ATOM_ENUM_)
#undef ATOM_ENUM_
    N_ATOMS
};

/* Written once under atoms_once, read-only after it. */
static ax_term_t atoms[N_ATOMS];
static bool atoms_made;
static pthread_once_t atoms_once = PTHREAD_ONCE_INIT;

#define AT(id) (atoms[A_##id])

static void make_atoms(void)
{
    static const char *const text[N_ATOMS] = {
#define ATOM_TEXT_(id, t) t,
        SUP_ATOMS(ATOM_TEXT_)
#undef ATOM_TEXT_
    };

    for (size_t i = 0; i < N_ATOMS; i++)
        if ((atoms[i] = ax_atom(text[i])) == AX_NONE)
            return;
    atoms_made = true;
}

/* Makes the atoms above once: 0, or AX_ESYSLIMIT if the table is full. */
static int need_atoms(void)
{
    pthread_once(&atoms_once, make_atoms);
    return atoms_made ? 0 : AX_ESYSLIMIT;
}

/* --- The supervisor's state ----------------------------------------------- */

enum strategy { ONE_FOR_ONE, ONE_FOR_ALL, REST_FOR_ONE, SIMPLE_ONE_FOR_ONE };
enum restart { PERMANENT, TRANSIENT, TEMPORARY };
enum child_type { WORKER, SUPERVISOR };
enum child_state { CS_FREE, CS_UNDEFINED, CS_RUNNING, CS_RESTARTING };

/* Atoms and the values they name, each table in value order. */
struct choice {
    uint8_t atom;
    uint8_t value;
};

static const struct choice strategies[] = {
    {A_ONE_FOR_ONE, ONE_FOR_ONE},
    {A_ONE_FOR_ALL, ONE_FOR_ALL},
    {A_REST_FOR_ONE, REST_FOR_ONE},
    {A_SIMPLE_ONE_FOR_ONE, SIMPLE_ONE_FOR_ONE},
};
static const struct choice restarts[] = {
    {A_PERMANENT, PERMANENT},
    {A_TRANSIENT, TRANSIENT},
    {A_TEMPORARY, TEMPORARY},
};
static const struct choice types[] = {
    {A_WORKER, WORKER},
    {A_SUPERVISOR, SUPERVISOR},
};

struct child {
    ax_term_t id;     /* the spec's id; undefined for a dynamic child */
    ax_term_t start;  /* {Module, Args} or {supervisor, Flags, Kids} */
    ax_term_t pid;    /* when running or restarting, else stale */
    ax_term_t name;   /* an atom to register it as, or AX_NONE */
    int64_t shutdown; /* ms, SHUTDOWN_BRUTAL or AX_INFINITY */
    uint32_t prev;    /* start order, NO_SLOT at the ends */
    uint32_t next;    /* ... and the free list's link */
    uint32_t batch;   /* the next child of the stop batch */
    uint32_t serial;  /* tells a retry for an earlier occupant apart */
    uint8_t restart;  /* enum restart */
    uint8_t type;     /* enum child_type */
    uint8_t state;    /* enum child_state */
    bool stopping;    /* in the stop batch, its 'DOWN' not yet seen */
};

/* Storage the process heap owns: the bytes of an off-heap binary. */
struct store {
    ax_term_t holder; /* the binary (a collection root), or [] */
    void *mem;
    size_t cap; /* items */
};

struct sup {
    ax_term_t self;
    ax_term_t parent; /* its starter, or undefined for a thread's */
    ax_term_t name;   /* its registered name, or [] */
    uint8_t strategy;
    int64_t intensity;
    int64_t period; /* seconds */
    int64_t period_ms;
    struct child tmpl;  /* simple_one_for_one's child spec */
    struct store slots; /* struct child */
    uint32_t first;     /* oldest child */
    uint32_t last;      /* newest child */
    uint32_t free_slot;
    uint32_t nchildren;
    uint32_t serial;
    uint32_t batch;     /* first child of the stop batch */
    struct store index; /* uint32_t: slot + 1, or 0 for empty */
    uint32_t nindexed;
    struct store ring; /* uint64_t: restart times, ms */
    size_t ring_head;  /* the oldest */
    size_t ring_len;
    uint64_t restarts;
};

static bool choose(const struct choice *c, size_t n, ax_term_t t, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (atoms[c[i].atom] == t) {
            *out = c[i].value;
            return true;
        }
    }
    return false;
}

#define CHOOSE(table, t, out) choose(table, COUNT(table), t, out)

static _Noreturn void out_of_memory(void)
{
    ax_exit(AT(OOM));
}

/*
 * Points st at new storage for cap items of size bytes with the first
 * keep items copied over; the old storage stays readable until the next
 * collection. Ends the process with oom when it cannot be made.
 */
static void store_resize(struct store *st, size_t size, size_t cap, size_t keep)
{
    uint8_t *mem = NULL;
    ax_term_t holder = AX_NONE;
    size_t bytes = cap * size;

    /* Below the shared minimum a binary would live on the heap, where a
     * collection moves it. */
    if (bytes < AX_BINARY_SHARED_MIN)
        bytes = AX_BINARY_SHARED_MIN;
    if (cap <= SIZE_MAX / size)
        holder = ax__make_binary(ax_heap(), bytes, &mem);
    if (holder == AX_NONE)
        out_of_memory();
    if (keep)
        memcpy(mem, st->mem, keep * size);
    st->holder = holder;
    st->mem = mem;
    st->cap = cap;
}

/* --- Child slots, in start order ------------------------------------------ */

static struct child *slot(const struct sup *s, uint32_t i)
{
    return (struct child *)s->slots.mem + i;
}

static void grow_slots(struct sup *s)
{
    size_t old = s->slots.cap;
    size_t cap = old ? 2 * old : 4;

    if (cap >= NO_SLOT)
        ax_exit(AT(SYSTEM_LIMIT));
    store_resize(&s->slots, sizeof(struct child), cap, old);
    for (size_t i = cap; i-- > old;) {
        struct child *c = slot(s, (uint32_t)i);

        c->id = c->start = AX_NIL;
        c->pid = AX_NONE;
        c->state = CS_FREE;
        c->stopping = false;
        c->next = s->free_slot;
        s->free_slot = (uint32_t)i;
    }
}

/* A new slot, a copy of proto, linked last in start order. Pointers to
 * slots are invalid afterwards (the table may have moved). */
static uint32_t slot_add(struct sup *s, const struct child *proto)
{
    uint32_t i;
    struct child *c;

    if (s->free_slot == NO_SLOT)
        grow_slots(s);
    i = s->free_slot;
    c = slot(s, i);
    s->free_slot = c->next;
    *c = *proto;
    c->pid = AX_NONE;
    c->state = CS_UNDEFINED;
    c->stopping = false;
    c->serial = ++s->serial;
    c->prev = s->last;
    c->next = NO_SLOT;
    if (s->last != NO_SLOT)
        slot(s, s->last)->next = i;
    else
        s->first = i;
    s->last = i;
    s->nchildren++;
    return i;
}

/* Unlinks slot i (which must not be running) and frees it. */
static void slot_free(struct sup *s, uint32_t i)
{
    struct child *c = slot(s, i);

    ax_assert(c->state != CS_RUNNING && c->state != CS_FREE);
    if (c->prev != NO_SLOT)
        slot(s, c->prev)->next = c->next;
    else
        s->first = c->next;
    if (c->next != NO_SLOT)
        slot(s, c->next)->prev = c->prev;
    else
        s->last = c->prev;
    c->id = c->start = AX_NIL;
    c->state = CS_FREE;
    c->next = s->free_slot;
    s->free_slot = i;
    s->nchildren--;
}

/* The static child whose id is =:= id, or NO_SLOT. */
static uint32_t find_id(const struct sup *s, ax_term_t id)
{
    for (uint32_t i = s->first; i != NO_SLOT; i = slot(s, i)->next)
        if (ax_equal_exact(slot(s, i)->id, id))
            return i;
    return NO_SLOT;
}

/* --- The pid index: open addressing, linear probing ----------------------- */

static size_t home(const struct sup *s, ax_term_t pid)
{
    return ax__hash_mix(pid) & (s->index.cap - 1);
}

/* The running child whose pid is pid, or NO_SLOT. */
static uint32_t find_pid(const struct sup *s, ax_term_t pid)
{
    const uint32_t *b = s->index.mem;
    size_t mask = s->index.cap - 1;

    if (!s->index.cap)
        return NO_SLOT;
    for (size_t k = home(s, pid); b[k]; k = (k + 1) & mask)
        if (slot(s, b[k] - 1)->pid == pid)
            return b[k] - 1;
    return NO_SLOT;
}

static void index_insert(struct sup *s, uint32_t i)
{
    uint32_t *b = s->index.mem;
    size_t mask = s->index.cap - 1;
    size_t k = home(s, slot(s, i)->pid);

    while (b[k])
        k = (k + 1) & mask;
    b[k] = i + 1;
    s->nindexed++;
}

/* Makes the index cap buckets holding every running child. */
static void index_rebuild(struct sup *s, size_t cap)
{
    store_resize(&s->index, sizeof(uint32_t), cap, 0);
    memset(s->index.mem, 0, cap * sizeof(uint32_t));
    s->nindexed = 0;
    for (uint32_t i = 0; i < s->slots.cap; i++)
        if (slot(s, i)->state == CS_RUNNING)
            index_insert(s, i);
}

/* Child i runs as pid from now on. */
static void set_running(struct sup *s, uint32_t i, ax_term_t pid)
{
    if (2 * ((size_t)s->nindexed + 1) > s->index.cap)
        index_rebuild(s, s->index.cap ? 2 * s->index.cap : INDEX_MIN);
    slot(s, i)->pid = pid;
    index_insert(s, i);
    slot(s, i)->state = CS_RUNNING;
}

/* Child i, which was running, is not any more (its pid stays). Removal
 * shifts later entries of the probe sequence back into the hole, so no
 * tombstones are needed (Knuth's algorithm R). */
static void set_down(struct sup *s, uint32_t i)
{
    uint32_t *b = s->index.mem;
    size_t mask = s->index.cap - 1;
    size_t hole = home(s, slot(s, i)->pid);

    while (b[hole] != i + 1)
        hole = (hole + 1) & mask;
    for (size_t j = (hole + 1) & mask; b[j]; j = (j + 1) & mask) {
        size_t k = home(s, slot(s, b[j] - 1)->pid);
        bool stays = hole < j ? hole < k && k <= j : hole < k || k <= j;

        if (!stays) {
            b[hole] = b[j];
            hole = j;
        }
    }
    b[hole] = 0;
    s->nindexed--;
    slot(s, i)->state = CS_UNDEFINED;
}

/* --- Restart intensity ---------------------------------------------------- */

/* Moves the ring to storage twice as big (at most intensity + 1). */
static void ring_grow(struct sup *s)
{
    uint64_t limit = (uint64_t)s->intensity + 1;
    size_t cap = s->ring.cap ? 2 * s->ring.cap : RING_MIN;
    size_t old_cap = s->ring.cap;
    const uint64_t *old = s->ring.mem;
    uint64_t *r;

    if (cap > limit)
        cap = (size_t)limit;
    store_resize(&s->ring, sizeof(uint64_t), cap, 0);
    r = s->ring.mem;
    for (size_t k = 0; k < s->ring_len; k++)
        r[k] = old[(s->ring_head + k) % old_cap];
    s->ring_head = 0;
}

/* Every supervisor's restarts: a statistic only (relaxed). */
static atomic_uint_fast64_t restarts_total;

uint64_t ax__supervisor_restarts(void)
{
    return atomic_load_explicit(&restarts_total, memory_order_relaxed);
}

/* Counts a restart now; false if that makes more than intensity within
 * the period (OTP's add_restart). */
static bool note_restart(struct sup *s)
{
    uint64_t now = ax__now_ms();
    uint64_t *r = s->ring.mem;

    s->restarts++;
    atomic_fetch_add_explicit(&restarts_total, 1, memory_order_relaxed);
    while (s->ring_len && now - r[s->ring_head] > (uint64_t)s->period_ms) {
        s->ring_head = s->ring_head + 1 == s->ring.cap ? 0 : s->ring_head + 1;
        s->ring_len--;
    }
    if (s->ring_len == s->ring.cap)
        ring_grow(s);
    ax_assert(s->ring_len < s->ring.cap);
    r = s->ring.mem;
    r[(s->ring_head + s->ring_len) % s->ring.cap] = now;
    s->ring_len++;
    return s->ring_len <= (uint64_t)s->intensity;
}

/* --- Reports -------------------------------------------------------------- */

/* Release by the setter, acquire by the supervisor calling it: what the
 * setter prepared for its hook is seen by the hook. */
static _Atomic(ax_sup_hook_fn) hook;

void ax_supervisor_set_hook(ax_sup_hook_fn fn)
{
    atomic_store_explicit(&hook, fn, memory_order_release);
}

static void report(const struct sup *s, ax_sup_event_t event, ax_term_t id,
                   ax_term_t old_pid, ax_term_t new_pid, ax_term_t reason)
{
    ax_sup_hook_fn fn = atomic_load_explicit(&hook, memory_order_acquire);
    ax_sup_report_t r = {
        .event = event,
        .supervisor = s->self,
        .sup_name = s->name,
        .child_id = id,
        .child_pid = old_pid,
        .new_pid = new_pid,
        .reason = reason,
        .restarts = s->restarts,
    };

    if (fn)
        fn(&r);
}

/* --- Checking flags and child specs --------------------------------------- */

static ax_term_t pair(ax_term_t a, ax_term_t b)
{
    return ax_tuple(ax_heap(), 2, a, b);
}

/* *why = what; returns AX_EBADARG. */
static int refuse(ax_term_t *why, ax_term_t what)
{
    *why = what;
    return AX_EBADARG;
}

/* *why = {tag, what}; returns AX_EBADARG. */
static int bad(ax_term_t *why, unsigned tag, ax_term_t what)
{
    return refuse(why, pair(atoms[tag], what));
}

static bool get_int(ax_term_t t, int64_t min, int64_t *out)
{
    return ax_get_int(t, out) == 0 && *out >= min;
}

/* Reads flags (OTP's check_flags) into s; *why gets What on failure. */
static int check_flags(ax_term_t flags, struct sup *s, ax_term_t *why)
{
    ax_term_t v;

    s->strategy = ONE_FOR_ONE;
    s->intensity = 1;
    s->period = 5;
    if (!ax_is_map(flags))
        return bad(why, A_INVALID_TYPE, flags);
    v = ax_map_get(flags, AT(STRATEGY));
    if (v != AX_NONE && !CHOOSE(strategies, v, &s->strategy))
        return bad(why, A_INVALID_STRATEGY, v);
    v = ax_map_get(flags, AT(INTENSITY));
    if (v != AX_NONE && !get_int(v, 0, &s->intensity))
        return bad(why, A_INVALID_INTENSITY, v);
    v = ax_map_get(flags, AT(PERIOD));
    if (v != AX_NONE && !get_int(v, 1, &s->period))
        return bad(why, A_INVALID_PERIOD, v);
    s->period_ms = s->period > INT64_MAX / 1000 ? INT64_MAX : s->period * 1000;
    return 0;
}

static int check_sup(ax_term_t flags, ax_term_t kids, struct sup *s,
                     ax_term_t *why);

static bool is_sup_start(ax_term_t start)
{
    return ax_is_record(start, AT(SUPERVISOR), 3);
}

/* Checks a start term: {Module, Args}, with Args a list under
 * simple_one_for_one, or {supervisor, Flags, Children}, checked whole. */
static int check_start(ax_term_t start, uint8_t strategy, ax_term_t *why)
{
    struct sup nested;

    if (is_sup_start(start))
        return check_sup(ax_tuple_get(start, 1), ax_tuple_get(start, 2),
                         &nested, why);
    if (ax_tuple_size(start) != 2 || !ax_is_atom(ax_tuple_get(start, 0)) ||
        (strategy == SIMPLE_ONE_FOR_ONE &&
         ax_list_length(ax_tuple_get(start, 1)) < 0))
        return bad(why, A_INVALID_MFA, start);
    return 0;
}

static int check_shutdown(ax_term_t v, struct child *c, ax_term_t *why)
{
    if (v == AX_NONE)
        c->shutdown = c->type == WORKER ? 5000 : AX_INFINITY;
    else if (v == AT(BRUTAL_KILL))
        c->shutdown = SHUTDOWN_BRUTAL;
    else if (v == AT(INFINITY))
        c->shutdown = AX_INFINITY;
    else if (!get_int(v, 0, &c->shutdown))
        return bad(why, A_INVALID_SHUTDOWN, v);
    return 0;
}

/* Reads a child spec (OTP's check_childspec) into c; *why gets What. */
static int check_child(ax_term_t spec, uint8_t strategy, struct child *c,
                       ax_term_t *why)
{
    ax_term_t v;
    int err;

    if (!ax_is_map(spec))
        return bad(why, A_INVALID_CHILD_SPEC, spec);
    if ((c->id = ax_map_get(spec, AT(ID))) == AX_NONE)
        return refuse(why, AT(MISSING_ID));
    if ((c->start = ax_map_get(spec, AT(START))) == AX_NONE)
        return refuse(why, AT(MISSING_START));
    if ((err = check_start(c->start, strategy, why)))
        return err;
    c->restart = PERMANENT;
    v = ax_map_get(spec, AT(RESTART));
    if (v != AX_NONE && !CHOOSE(restarts, v, &c->restart))
        return bad(why, A_INVALID_RESTART_TYPE, v);
    c->name = ax_map_get(spec, AT(NAME));
    if (c->name != AX_NONE && !ax_is_atom(c->name))
        return bad(why, A_INVALID_NAME, c->name);
    c->type = is_sup_start(c->start) ? SUPERVISOR : WORKER;
    v = ax_map_get(spec, AT(TYPE));
    if (v != AX_NONE && !CHOOSE(types, v, &c->type))
        return bad(why, A_INVALID_CHILD_TYPE, v);
    return check_shutdown(ax_map_get(spec, AT(SHUTDOWN)), c, why);
}

/* {bad_child_spec, Spec, What}; returns AX_EBADARG. */
static int bad_spec(ax_term_t *why, ax_term_t spec, ax_term_t what)
{
    return refuse(why, ax_tuple(ax_heap(), 3, AT(BAD_CHILD_SPEC), spec, what));
}

/* Whether a spec of kids before the cell `upto` has the id id. */
static bool id_before(ax_term_t kids, ax_term_t upto, ax_term_t id)
{
    for (ax_term_t p = kids; p != upto; p = ax_tail(p))
        if (ax_equal_exact(ax_map_get(ax_head(p), AT(ID)), id))
            return true;
    return false;
}

/* Checks each spec of a proper list, and that ids are unique. */
static int check_children(ax_term_t kids, uint8_t strategy, ax_term_t *why)
{
    struct child c;
    ax_term_t what;

    for (ax_term_t l = kids; l != AX_NIL; l = ax_tail(l)) {
        ax_term_t spec = ax_head(l);

        if (check_child(spec, strategy, &c, &what))
            return bad_spec(why, spec, what);
        if (id_before(kids, l, c.id))
            return bad_spec(why, spec, pair(AT(DUPLICATE_CHILD_NAME), c.id));
    }
    return 0;
}

/* Checks a supervisor's flags (read into s) and children, nested
 * supervisors included; *why gets the reason its start would fail with. */
static int check_sup(ax_term_t flags, ax_term_t kids, struct sup *s,
                     ax_term_t *why)
{
    ax_term_t what;
    ptrdiff_t n = ax_list_length(kids);

    if (check_flags(flags, s, &what))
        return refuse(why, pair(AT(SUPERVISOR_DATA), what));
    if (n < 0 || (s->strategy == SIMPLE_ONE_FOR_ONE && n != 1))
        return bad(why, A_BAD_START_SPEC, kids);
    return check_children(kids, s->strategy, why);
}

/* --- Starting children ---------------------------------------------------- */

static int start_sup(ax_term_t name, ax_term_t flags, ax_term_t kids,
                     ax_term_t *pid, ax_term_t *why);

/* The reason of a spawn that failed: {already_started, Pid} for a name
 * taken. */
static ax_term_t spawn_failure(int err, ax_term_t name)
{
    ax_term_t pid = ax_is_atom(name) ? ax_whereis(name) : AX_NONE;

    if (err == AX_EBADARG && pid != AX_NONE)
        return pair(AT(ALREADY_STARTED), pid);
    return ax_atom(ax_err_reason(err));
}

/* Starts child c, linked: 0 with *pid (AX_NONE if its init returned
 * ignore), or an error with *why the reason. */
static int spawn_child(const struct child *c, ax_term_t *pid, ax_term_t *why)
{
    ax_gen_opts_t o = {
        .flags = AX_GEN_LINK, .name = c->name, .timeout_ms = AX_INFINITY};
    ax_term_t start = c->start;
    int err;

    if (is_sup_start(start))
        return start_sup(c->name, ax_tuple_get(start, 1),
                         ax_tuple_get(start, 2), pid, why);
    err = ax_gen_start(ax_tuple_get(start, 0), ax_tuple_get(start, 1), &o, pid,
                       why);
    if (err && err != AX_EEXITED)
        *why = spawn_failure(err, c->name);
    return err;
}

/*
 * Starts child i. On success it runs, or if it returned ignore it is
 * kept not running, or freed if temporary or dynamic (OTP). On failure
 * it is left as it was, with *why the reason.
 */
static int start_slot(struct sup *s, uint32_t i, ax_term_t *why)
{
    struct child *c = slot(s, i);
    ax_term_t pid = AX_NONE;
    int err = spawn_child(c, &pid, why);

    if (err)
        return err;
    if (pid != AX_NONE)
        set_running(s, i, pid);
    else if (c->restart == TEMPORARY || s->strategy == SIMPLE_ONE_FOR_ONE)
        slot_free(s, i);
    else
        c->state = CS_UNDEFINED;
    return 0;
}

/* {failed_to_start_child, Id, Reason} */
static ax_term_t start_failure(ax_term_t id, ax_term_t reason)
{
    return ax_tuple(ax_heap(), 3, AT(FAILED_TO_START_CHILD), id, reason);
}

/* --- Stopping children ---------------------------------------------------- */

/* Adds child i to the stop batch if it runs; returns how many it added. */
static size_t mark(struct sup *s, uint32_t i)
{
    struct child *c = slot(s, i);

    if (c->state != CS_RUNNING)
        return 0;
    c->stopping = true;
    c->batch = s->batch;
    s->batch = i;
    return 1;
}

/* Sends the batch's children that still run the exit signal how, after
 * monitoring them first if watch. */
static void signal_batch(struct sup *s, ax_term_t how, bool watch)
{
    ax_term_t ref;

    for (uint32_t i = s->batch; i != NO_SLOT; i = slot(s, i)->batch) {
        struct child *c = slot(s, i);

        if (!c->stopping)
            continue;
        if (watch && ax_monitor(c->pid, &ref))
            out_of_memory();
        ax_exit_signal(c->pid, how);
        if (!watch)
            report(s, AX_SUP_SHUTDOWN_KILL, c->id, c->pid, AX_NONE, AT(KILLED));
    }
}

/* Removes the 'EXIT' a dead child's link sent (OTP's unlink_flush): it
 * must not be taken for a crash later. */
static void unlink_flush(ax_term_t pid)
{
    ax_term_t m;

    ax_unlink(pid);
    ax_receive(ax_tuple(ax_heap(), 3, AT(EXIT), pid, AX_ANY), 0, &m, NULL);
}

/*
 * Stops the n children of the stop batch all at once, as OTP's shutdown:
 * monitored, sent exit(shutdown) (kill if brutal), awaited for up to
 * `shutdown` ms (AX_INFINITY: for ever), then killed and awaited. They
 * end not running. Children of a simple_one_for_one go in one batch;
 * others one at a time.
 */
static void stop_batch(struct sup *s, size_t n, int64_t shutdown)
{
    ax_term_t down = ax_tuple(ax_heap(), 5, AT(DOWN), AX_ANY, AT(PROCESS),
                              AX_VAR(0), AX_ANY);
    uint64_t deadline =
        shutdown >= 0 ? ax__now_ms() + (uint64_t)shutdown : UINT64_MAX;
    ax_term_t b[AX_VARS_MAX];
    ax_term_t m;

    signal_batch(s, shutdown == SHUTDOWN_BRUTAL ? AT(KILL) : AT(SHUTDOWN),
                 true);
    while (n > 0) {
        uint64_t now = ax__now_ms();
        int64_t left = deadline == UINT64_MAX ? AX_INFINITY
                       : deadline > now       ? (int64_t)(deadline - now)
                                              : 0;
        uint32_t i;

        if (ax_receive(down, left, &m, b) == AX_ETIMEOUT) {
            signal_batch(s, AT(KILL), false);
            deadline = UINT64_MAX;
            continue;
        }
        i = find_pid(s, b[0]);
        if (i == NO_SLOT || !slot(s, i)->stopping)
            continue;
        unlink_flush(b[0]);
        slot(s, i)->stopping = false;
        set_down(s, i);
        n--;
    }
    s->batch = NO_SLOT;
}

static void stop_child(struct sup *s, uint32_t i)
{
    if (mark(s, i))
        stop_batch(s, 1, slot(s, i)->shutdown);
}

/* Stops the children from the newest back to child `to`, one at a time;
 * the temporary ones among them go (OTP's terminate_children). */
static void stop_back_to(struct sup *s, uint32_t to)
{
    uint32_t i = s->last;

    while (i != NO_SLOT) {
        uint32_t prev = slot(s, i)->prev;

        stop_child(s, i);
        if (slot(s, i)->restart == TEMPORARY)
            slot_free(s, i);
        if (i == to)
            break;
        i = prev;
    }
}

static void stop_all(struct sup *s)
{
    size_t n = 0;

    if (s->strategy != SIMPLE_ONE_FOR_ONE) {
        stop_back_to(s, s->first);
        return;
    }
    for (uint32_t i = s->first; i != NO_SLOT; i = slot(s, i)->next)
        n += mark(s, i);
    stop_batch(s, n, s->tmpl.shutdown);
}

/* --- Restarting ----------------------------------------------------------- */

/* Child i failed to restart: it is marked restarting and tried again
 * once what is queued now has been handled. */
static void retry_later(struct sup *s, uint32_t i, ax_term_t why)
{
    struct child *c = slot(s, i);
    ax_heap_t *h = ax_heap();

    report(s, AX_SUP_START_ERROR, c->id, c->pid, AX_NONE, why);
    c->state = CS_RESTARTING;
    ax_send(s->self,
            ax_tuple(h, 3, AT(RETRY), ax_int(h, i), ax_int(h, c->serial)));
}

/* Starts child i, and unless single the ones after it; false (with a
 * retry scheduled) at the first that fails. */
static bool start_from(struct sup *s, uint32_t i, bool single)
{
    ax_term_t why;

    while (i != NO_SLOT) {
        uint32_t next = slot(s, i)->next;

        if (start_slot(s, i, &why)) {
            retry_later(s, i, why);
            return false;
        }
        if (single)
            break;
        i = next;
    }
    return true;
}

/* Intensity exceeded: stops every child and exits shutdown. */
static _Noreturn void give_up(struct sup *s, ax_term_t id, ax_term_t pid,
                              ax_term_t reason)
{
    report(s, AX_SUP_GIVE_UP, id, pid, AX_NONE, reason);
    stop_all(s);
    ax_exit(AT(SHUTDOWN));
}

/* Restarts child i, which is down (pid was its last pid), and the others
 * its strategy names, as OTP's restart/2. */
static void restart(struct sup *s, uint32_t i, ax_term_t pid, ax_term_t reason)
{
    ax_term_t id = slot(s, i)->id;
    bool single = s->strategy == ONE_FOR_ONE ||
                  s->strategy == SIMPLE_ONE_FOR_ONE;
    uint32_t from = i;

    if (!note_restart(s))
        give_up(s, id, pid, reason);
    if (s->strategy == ONE_FOR_ALL) {
        stop_back_to(s, s->first);
        from = s->first;
    } else if (s->strategy == REST_FOR_ONE) {
        stop_back_to(s, i);
    }
    if (!start_from(s, from, single))
        return;
    report(s, AX_SUP_RESTART, id, pid,
           slot(s, i)->state == CS_RUNNING ? slot(s, i)->pid : AX_NONE, reason);
}

/* normal, shutdown and {shutdown, _}: not a failure. */
static bool is_clean_exit(ax_term_t reason)
{
    return reason == AT(NORMAL) || reason == AT(SHUTDOWN) ||
           ax_is_record(reason, AT(SHUTDOWN), 2);
}

/* A child's 'EXIT': restarted or forgotten by its restart type. */
static void child_exited(struct sup *s, ax_term_t pid, ax_term_t reason)
{
    uint32_t i = find_pid(s, pid);
    uint8_t type;

    if (i == NO_SLOT)
        return; /* not, or no longer, a child */
    set_down(s, i);
    type = slot(s, i)->restart;
    if (type == PERMANENT || (type == TRANSIENT && !is_clean_exit(reason)))
        restart(s, i, pid, reason);
    else if (type == TEMPORARY || s->strategy == SIMPLE_ONE_FOR_ONE)
        slot_free(s, i);
}

/* --- Calls ---------------------------------------------------------------- */

static ax_term_t error_reply(ax_term_t what)
{
    return pair(AT(ERROR), what);
}

static ax_term_t ok_pid(const struct sup *s, uint32_t i)
{
    struct child *c = slot(s, i);

    return pair(AT(OK), c->state == CS_RUNNING ? c->pid : AT(UNDEFINED));
}

/* {Id, Pid | restarting | undefined, Type, [Module]} */
static ax_term_t child_info(const struct child *c)
{
    ax_heap_t *h = ax_heap();
    ax_term_t pid = c->state == CS_RUNNING      ? c->pid
                    : c->state == CS_RESTARTING ? AT(RESTARTING)
                                                : AT(UNDEFINED);

    return ax_tuple(h, 4, c->id, pid, atoms[types[c->type].atom],
                    ax_cons(h, ax_tuple_get(c->start, 0), AX_NIL));
}

/* Newest first, as OTP lists them. */
static ax_term_t call_which_children(struct sup *s, ax_term_t arg)
{
    ax_term_t list = AX_NIL;

    (void)arg;
    for (uint32_t i = s->first; i != NO_SLOT; i = slot(s, i)->next)
        list = ax_cons(ax_heap(), child_info(slot(s, i)), list);
    return list;
}

static ax_term_t call_count_children(struct sup *s, ax_term_t arg)
{
    ax_heap_t *h = ax_heap();
    ax_term_t keys[] = {AT(SPECS), AT(ACTIVE), AT(SUPERVISORS), AT(WORKERS)};
    int64_t n[4] = {0, 0, 0, 0};
    ax_term_t vals[4];

    (void)arg;
    for (uint32_t i = s->first; i != NO_SLOT; i = slot(s, i)->next) {
        const struct child *c = slot(s, i);

        n[0]++;
        n[1] += c->state == CS_RUNNING &&
                (s->strategy == SIMPLE_ONE_FOR_ONE || ax_is_alive(c->pid));
        n[c->type == SUPERVISOR ? 2 : 3]++;
    }
    if (s->strategy == SIMPLE_ONE_FOR_ONE)
        n[0] = 1; /* OTP counts the one spec */
    for (size_t k = 0; k < 4; k++)
        vals[k] = ax_int(h, n[k]);
    return ax_map_from(h, 4, keys, vals);
}

/* Template args ++ extra as a new start term, or AX_NONE if extra is not
 * a list (or is not [] for a template that starts a supervisor). */
static ax_term_t dynamic_start(const struct sup *s, ax_term_t extra)
{
    ax_heap_t *h = ax_heap();
    ax_term_t start = s->tmpl.start;
    ax_term_t reversed = AX_NIL;
    ax_term_t args = extra;

    if (is_sup_start(start))
        return extra == AX_NIL ? start : AX_NONE;
    if (ax_list_length(extra) < 0)
        return AX_NONE;
    for (ax_term_t l = ax_tuple_get(start, 1); l != AX_NIL; l = ax_tail(l))
        reversed = ax_cons(h, ax_head(l), reversed);
    for (; reversed != AX_NIL; reversed = ax_tail(reversed))
        args = ax_cons(h, ax_head(reversed), args);
    return ax_tuple(h, 2, ax_tuple_get(start, 0), args);
}

/* Adds child proto and starts it: {ok, Pid | undefined} or an error. */
static ax_term_t add_and_start(struct sup *s, const struct child *proto)
{
    uint32_t i = slot_add(s, proto);
    ax_term_t why;

    if (start_slot(s, i, &why)) {
        report(s, AX_SUP_START_ERROR, proto->id, AX_NONE, AX_NONE, why);
        slot_free(s, i);
        return error_reply(start_failure(proto->id, why));
    }
    return slot(s, i)->state == CS_FREE ? pair(AT(OK), AT(UNDEFINED))
                                        : ok_pid(s, i);
}

static ax_term_t call_start_child(struct sup *s, ax_term_t arg)
{
    struct child c = s->tmpl;
    ax_term_t what;
    uint32_t i;

    if (s->strategy == SIMPLE_ONE_FOR_ONE) {
        c.start = dynamic_start(s, arg);
        if (c.start == AX_NONE)
            return error_reply(pair(AT(BADARG), arg));
        return add_and_start(s, &c);
    }
    if (check_child(arg, s->strategy, &c, &what)) {
        bad_spec(&what, arg, what);
        return error_reply(what);
    }
    i = find_id(s, c.id);
    if (i != NO_SLOT && slot(s, i)->state == CS_RUNNING)
        return error_reply(pair(AT(ALREADY_STARTED), slot(s, i)->pid));
    if (i != NO_SLOT)
        return error_reply(AT(ALREADY_PRESENT));
    return add_and_start(s, &c);
}

/* A dynamic child by pid: running, or restarting with that last pid. */
static uint32_t find_dynamic(const struct sup *s, ax_term_t pid)
{
    uint32_t i = find_pid(s, pid);

    for (uint32_t j = s->first; i == NO_SLOT && j != NO_SLOT;
         j = slot(s, j)->next)
        if (slot(s, j)->state == CS_RESTARTING && slot(s, j)->pid == pid)
            i = j;
    return i;
}

static ax_term_t call_terminate_child(struct sup *s, ax_term_t id)
{
    bool dynamic = s->strategy == SIMPLE_ONE_FOR_ONE;
    uint32_t i;

    if (dynamic && !ax_is_pid(id))
        return error_reply(AT(SIMPLE_ONE_FOR_ONE));
    i = dynamic ? find_dynamic(s, id) : find_id(s, id);
    if (i == NO_SLOT)
        /* OTP: a dead pid may be a child whose 'EXIT' is still queued */
        return dynamic && !ax_is_alive(id) ? AT(OK)
                                           : error_reply(AT(NOT_FOUND));
    stop_child(s, i);
    if (dynamic || slot(s, i)->restart == TEMPORARY)
        slot_free(s, i);
    else
        slot(s, i)->state = CS_UNDEFINED;
    return AT(OK);
}

/* The static child id if it is not running: its slot, or NO_SLOT with
 * *reply set to OTP's error. */
static uint32_t find_stopped(const struct sup *s, ax_term_t id,
                             ax_term_t *reply)
{
    uint32_t i = find_id(s, id);

    if (s->strategy == SIMPLE_ONE_FOR_ONE)
        *reply = error_reply(AT(SIMPLE_ONE_FOR_ONE));
    else if (i == NO_SLOT)
        *reply = error_reply(AT(NOT_FOUND));
    else if (slot(s, i)->state == CS_RESTARTING)
        *reply = error_reply(AT(RESTARTING));
    else if (slot(s, i)->state == CS_RUNNING)
        *reply = error_reply(AT(RUNNING));
    else
        return i;
    return NO_SLOT;
}

static ax_term_t call_restart_child(struct sup *s, ax_term_t id)
{
    ax_term_t reply;
    ax_term_t why;
    uint32_t i = find_stopped(s, id, &reply);

    if (i == NO_SLOT)
        return reply;
    if (start_slot(s, i, &why)) {
        report(s, AX_SUP_START_ERROR, id, AX_NONE, AX_NONE, why);
        return error_reply(start_failure(id, why));
    }
    return ok_pid(s, i);
}

static ax_term_t call_delete_child(struct sup *s, ax_term_t id)
{
    ax_term_t reply;
    uint32_t i = find_stopped(s, id, &reply);

    if (i == NO_SLOT)
        return reply;
    slot_free(s, i);
    return AT(OK);
}

/* The requests: a bare atom (arity 0) or {Tag, Arg}. */
static const struct call {
    uint8_t tag;
    uint8_t arity;
    ax_term_t (*fn)(struct sup *s, ax_term_t arg);
} calls[] = {
    {A_WHICH_CHILDREN, 0, call_which_children},
    {A_COUNT_CHILDREN, 0, call_count_children},
    {A_START_CHILD, 2, call_start_child},
    {A_TERMINATE_CHILD, 2, call_terminate_child},
    {A_RESTART_CHILD, 2, call_restart_child},
    {A_DELETE_CHILD, 2, call_delete_child},
};

static void on_call(struct sup *s, ax_term_t from, ax_term_t req)
{
    for (size_t k = 0; k < COUNT(calls); k++) {
        const struct call *c = &calls[k];

        if (c->arity ? ax_is_record(req, atoms[c->tag], c->arity)
                     : req == atoms[c->tag]) {
            ax_reply(from, c->fn(s, ax_tuple_get(req, 1)));
            return;
        }
    }
    ax_reply(from, error_reply(pair(AT(BADARG), req)));
}

/* --- The process ---------------------------------------------------------- */

static void got_exit(struct sup *s, ax_term_t pid, ax_term_t reason)
{
    if (pid != s->parent) {
        child_exited(s, pid, reason);
        return;
    }
    stop_all(s);
    ax_exit(reason);
}

static void on_retry(struct sup *s, ax_term_t slot_term, ax_term_t serial)
{
    int64_t i;
    int64_t n;
    struct child *c;

    if (ax_get_int(slot_term, &i) || ax_get_int(serial, &n) || i < 0 ||
        (uint64_t)i >= s->slots.cap)
        return;
    c = slot(s, (uint32_t)i);
    if (c->state == CS_RESTARTING && c->serial == (uint64_t)n)
        restart(s, (uint32_t)i, c->pid, AT(UNDEFINED));
}

/* The restarts within the last period: how much of the intensity is
 * used (the observer shows it). */
static int64_t recent_restarts(const struct sup *s)
{
    uint64_t now = ax__now_ms();
    const uint64_t *r = s->ring.mem;
    int64_t n = 0;

    for (size_t k = 0; k < s->ring_len; k++)
        if (now - r[(s->ring_head + k) % s->ring.cap] <=
            (uint64_t)s->period_ms)
            n++;
    return n;
}

/* #{strategy, intensity, period, restarts, recent, children}: what
 * ax_get_state shows of a supervisor. */
static ax_term_t state_map(struct sup *s)
{
    ax_heap_t *h = ax_heap();
    ax_term_t k[] = {AT(STRATEGY), AT(INTENSITY), AT(PERIOD), AT(RESTARTS),
                     ax_atom("recent"), AT(CHILDREN)};
    ax_term_t v[] = {atoms[strategies[s->strategy].atom],
                     ax_int(h, s->intensity), ax_int(h, s->period),
                     ax_int(h, (int64_t)s->restarts),
                     ax_int(h, recent_restarts(s)),
                     call_which_children(s, AX_NONE)};

    return ax_map_from(h, COUNT(k), k, v);
}

static void on_sys(struct sup *s, ax_term_t from, ax_term_t req)
{
    if (req == AT(GET_STATE)) {
        ax_reply(from, state_map(s));
    } else if (ax_is_record(req, AT(STOP), 2)) {
        ax_reply(from, AT(OK));
        stop_all(s);
        ax_exit(ax_tuple_get(req, 1));
    } else {
        ax_reply(from, error_reply(req));
    }
}

/* The messages a supervisor acts on: {Tag, A, B}. */
static const struct {
    uint8_t tag;
    void (*fn)(struct sup *s, ax_term_t a, ax_term_t b);
} handlers[] = {
    {A_EXIT, got_exit},
    {A_GEN_CALL, on_call},
    {A_SYS, on_sys},
    {A_RETRY, on_retry},
};

static void dispatch(struct sup *s, ax_term_t m)
{
    for (size_t k = 0; k < COUNT(handlers); k++) {
        if (ax_is_record(m, atoms[handlers[k].tag], 3)) {
            handlers[k].fn(s, ax_tuple_get(m, 1), ax_tuple_get(m, 2));
            return;
        }
    }
}

/* Collects the heap with every term the tables hold as a root. */
static void collect(struct sup *s)
{
    ax_term_t *fixed[] = {&s->slots.holder, &s->index.holder, &s->ring.holder,
                          &s->tmpl.id, &s->tmpl.start};
    size_t nf = COUNT(fixed);
    size_t n = nf + 2 * s->slots.cap;
    ax_term_t *roots = ax__malloc_array(n, sizeof(*roots));
    int err;

    if (!roots)
        out_of_memory();
    for (size_t k = 0; k < nf; k++)
        roots[k] = *fixed[k];
    for (uint32_t i = 0; i < s->slots.cap; i++) {
        roots[nf + 2 * i] = slot(s, i)->id;
        roots[nf + 2 * i + 1] = slot(s, i)->start;
    }
    err = ax_gc(roots, n);
    for (size_t k = 0; !err && k < nf; k++)
        *fixed[k] = roots[k];
    for (uint32_t i = 0; !err && i < s->slots.cap; i++) {
        slot(s, i)->id = roots[nf + 2 * i];
        slot(s, i)->start = roots[nf + 2 * i + 1];
    }
    ax__free(roots);
    if (err)
        out_of_memory();
}

static _Noreturn void serve(struct sup *s)
{
    ax_term_t m;

    for (;;) {
        if (ax__heap_wants_gc(ax_heap()))
            collect(s);
        if (ax_receive(AX_ANY, AX_INFINITY, &m, NULL) == 0)
            dispatch(s, m);
    }
}

/* Reads flags and children into s and starts the children in order; on
 * failure *why gets the reason and the children started are stopped. */
static int setup(struct sup *s, ax_term_t flags, ax_term_t kids, ax_term_t *why)
{
    struct child c;
    ax_term_t what;
    int err = check_sup(flags, kids, s, why);

    if (err)
        return err;
    for (ax_term_t l = kids; l != AX_NIL; l = ax_tail(l)) {
        check_child(ax_head(l), s->strategy, &c, &what);
        if (s->strategy == SIMPLE_ONE_FOR_ONE) {
            s->tmpl = c;
            s->tmpl.id = AT(UNDEFINED);
        } else {
            slot_add(s, &c);
        }
    }
    for (uint32_t i = s->first; i != NO_SLOT;) {
        uint32_t next = slot(s, i)->next;

        if (start_slot(s, i, &what)) {
            report(s, AX_SUP_START_ERROR, slot(s, i)->id, AX_NONE, AX_NONE,
                   what);
            *why = pair(AT(SHUTDOWN), start_failure(slot(s, i)->id, what));
            stop_all(s);
            return AX_EEXITED;
        }
        i = next;
    }
    return 0;
}

/* What a thread starting a supervisor waits on (on its stack). */
struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    int err;
};

/* Tells the starter how setup went: a message {Ref, Err, Why} to a
 * process, or the waiter of a thread (not touched after unlocking). */
static void ack(const struct sup *s, ax_term_t to, int err, ax_term_t why)
{
    ax_heap_t *h = ax_heap();
    struct waiter *w;
    int64_t addr;

    if (ax_is_ref(to)) {
        ax_send(s->parent, ax_tuple(h, 3, to, ax_int(h, err), why));
        return;
    }
    ax_get_int(to, &addr);
    w = (struct waiter *)(intptr_t)addr;
    pthread_mutex_lock(&w->lock);
    w->err = err;
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

/* The supervisor's body; arg is {Parent, Name, Flags, Children, AckTo}. */
static void sup_body(ax_term_t arg)
{
    struct sup s = {
        .self = ax_self(),
        .parent = ax_tuple_get(arg, 0),
        .name = ax_tuple_get(arg, 1),
        .tmpl = {.id = AX_NIL, .start = AX_NIL, .name = AX_NONE},
        .slots.holder = AX_NIL,
        .index.holder = AX_NIL,
        .ring.holder = AX_NIL,
        .first = NO_SLOT,
        .last = NO_SLOT,
        .free_slot = NO_SLOT,
        .batch = NO_SLOT,
    };
    ax_term_t why = AX_NIL;
    int err = setup(&s, ax_tuple_get(arg, 2), ax_tuple_get(arg, 3), &why);

    if (err && ax_is_pid(s.parent))
        ax_unlink(s.parent); /* the starter gets an error, not a signal */
    ack(&s, ax_tuple_get(arg, 4), err, why);
    if (err)
        ax_exit(why);
    serve(&s);
}

/* --- Starting a supervisor ------------------------------------------------ */

struct ack_wait {
    ax_term_t ref;
    ax_term_t mref;
};

static bool is_ack(ax_term_t m, void *arg)
{
    const struct ack_wait *w = arg;

    if (ax_is_record(m, AT(DOWN), 5))
        return ax_equal_exact(ax_tuple_get(m, 1), w->mref);
    return ax_tuple_size(m) == 3 && ax_equal_exact(ax_tuple_get(m, 0), w->ref);
}

/* ax_supervisor_start from a process: linked, and monitored until it
 * acknowledges (so its death before that is an error, not a hang). */
static int start_sup(ax_term_t name, ax_term_t flags, ax_term_t kids,
                     ax_term_t *pid, ax_term_t *why)
{
    ax_heap_t *h = ax_heap();
    struct ack_wait w = {.ref = ax_make_ref(NULL)};
    ax_spawn_opts_t o = {
        .body = sup_body,
        .flags = AX_SPAWN_LINK | AX_SPAWN_MONITOR | AX_SPAWN_TRAP_EXIT,
        .name = ax_is_atom(name) ? name : AX_NONE,
        .arg = ax_tuple(h, 5, ax_self(), ax_is_atom(name) ? name : AX_NIL,
                        flags, kids, w.ref),
    };
    ax_term_t p;
    ax_term_t m;
    int64_t err;
    int e = ax_spawn_opt(&o, &p, &w.mref);

    if (e) {
        *why = spawn_failure(e, name);
        return e;
    }
    ax_receive_fn(is_ack, &w, AX_INFINITY, &m);
    if (ax_is_record(m, AT(DOWN), 5)) {
        *why = ax_tuple_get(m, 4);
        return AX_EEXITED;
    }
    ax_demonitor(w.mref, AX_DEMONITOR_FLUSH);
    ax_get_int(ax_tuple_get(m, 1), &err);
    if (err)
        *why = ax_tuple_get(m, 2);
    else
        *pid = p;
    return (int)err;
}

/* Waits for w; AX_EEXITED if pid dies without telling. */
static int wait_ack(struct waiter *w, ax_term_t pid)
{
    int err = 0;
    struct timespec ts;

    pthread_mutex_lock(&w->lock);
    while (!w->done && !err) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += THREAD_POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cond, &w->lock, &ts);
        if (!w->done && !ax_is_alive(pid))
            err = AX_EEXITED;
    }
    pthread_mutex_unlock(&w->lock);
    return err ? err : w->err;
}

/* ax_supervisor_start from a thread: no parent, no link; the supervisor
 * acknowledges through a waiter on this thread's stack. */
static int start_unlinked(ax_term_t name, ax_term_t flags, ax_term_t kids,
                          ax_term_t *pid)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                       false, 0};
    ax_heap_t *h = ax_heap_new();
    ax_spawn_opts_t o = {
        .body = sup_body,
        .flags = AX_SPAWN_TRAP_EXIT,
        .name = ax_is_atom(name) ? name : AX_NONE,
    };
    ax_term_t p;
    int err;

    if (!h)
        return AX_ENOMEM;
    o.arg = ax_tuple(h, 5, AT(UNDEFINED), ax_is_atom(name) ? name : AX_NIL,
                     flags, kids, ax_int(h, (int64_t)(intptr_t)&w));
    err = o.arg == AX_NONE ? AX_ENOMEM : ax_spawn_opt(&o, &p, NULL);
    ax_heap_free(h);
    if (!err)
        err = wait_ack(&w, p);
    if (!err)
        *pid = p;
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    return err;
}

/* --- The API -------------------------------------------------------------- */

int ax_supervisor_start(ax_term_t name, ax_term_t flags, ax_term_t children,
                        ax_term_t *pid, ax_term_t *reason)
{
    ax_term_t p = AX_NONE;
    ax_term_t why = AX_NONE;
    int err = need_atoms();

    if (!err && ax_self() != AX_NONE)
        err = start_sup(name, flags, children, &p, &why);
    else if (!err)
        err = start_unlinked(name, flags, children, &p);
    if (!err && pid)
        *pid = p;
    if (err && reason)
        *reason = why;
    return err;
}

/* OTP's error replies and the codes they map to; others are AX_EEXITED
 * (failed_to_start_child). */
static const struct {
    uint8_t tag;
    int err;
} reply_errors[] = {
    {A_NOT_FOUND, AX_EINVAL},
    {A_RUNNING, AX_EBADARG},
    {A_RESTARTING, AX_EBADARG},
    {A_ALREADY_PRESENT, AX_EBADARG},
    {A_ALREADY_STARTED, AX_EBADARG},
    {A_BAD_CHILD_SPEC, AX_EBADARG},
    {A_BADARG, AX_EBADARG},
    {A_SIMPLE_ONE_FOR_ONE, AX_ENOTSUP},
};

static int reply_error(ax_term_t what)
{
    ax_term_t tag = ax_is_tuple(what) ? ax_tuple_get(what, 0) : what;

    for (size_t k = 0; k < COUNT(reply_errors); k++)
        if (atoms[reply_errors[k].tag] == tag)
            return reply_errors[k].err;
    return AX_EEXITED;
}

/*
 * Calls sup with the request tag (an atom alone if arg is AX_NONE, else
 * {tag, arg}) and decodes OTP's reply: ok, {ok, V} and any other term are
 * 0 with *value V (or the term; AX_NONE for ok); {error, What} is the
 * code of What with *value What.
 */
static int sup_call(ax_term_t sup, unsigned tag, ax_term_t arg,
                    ax_term_t *value)
{
    ax_term_t req;
    ax_term_t reply;
    int err = need_atoms();

    if (err)
        return err;
    if (!ax_heap())
        return AX_ENOTPROC;
    req = arg == AX_NONE ? atoms[tag] : pair(atoms[tag], arg);
    err = ax_call(sup, req, AX_INFINITY, &reply);
    if (err)
        return err;
    *value = reply == AT(OK) ? AX_NONE : reply;
    if (ax_is_record(reply, AT(OK), 2)) {
        *value = ax_tuple_get(reply, 1);
    } else if (ax_is_record(reply, AT(ERROR), 2)) {
        *value = ax_tuple_get(reply, 1);
        return reply_error(*value);
    }
    return 0;
}

/* {ok, Pid | undefined} into *pid: AX_NONE for undefined (ignore). */
static void set_pid(ax_term_t v, ax_term_t *pid)
{
    if (pid)
        *pid = v == AT(UNDEFINED) ? AX_NONE : v;
}

int ax_supervisor_start_child(ax_term_t sup, ax_term_t spec, ax_term_t *pid)
{
    ax_term_t v;
    int err = sup_call(sup, A_START_CHILD, spec, &v);

    if (!err)
        set_pid(v, pid);
    else if (err == AX_EBADARG && ax_is_record(v, AT(ALREADY_STARTED), 2))
        set_pid(ax_tuple_get(v, 1), pid);
    return err;
}

int ax_supervisor_terminate_child(ax_term_t sup, ax_term_t id)
{
    ax_term_t v;

    return sup_call(sup, A_TERMINATE_CHILD, id, &v);
}

int ax_supervisor_restart_child(ax_term_t sup, ax_term_t id, ax_term_t *pid)
{
    ax_term_t v;
    int err = sup_call(sup, A_RESTART_CHILD, id, &v);

    if (!err)
        set_pid(v, pid);
    return err;
}

int ax_supervisor_delete_child(ax_term_t sup, ax_term_t id)
{
    ax_term_t v;

    return sup_call(sup, A_DELETE_CHILD, id, &v);
}

int ax_supervisor_which_children(ax_term_t sup, ax_term_t *list)
{
    return sup_call(sup, A_WHICH_CHILDREN, AX_NONE, list);
}

int ax_supervisor_count_children(ax_term_t sup, ax_term_t *counts)
{
    return sup_call(sup, A_COUNT_CHILDREN, AX_NONE, counts);
}
