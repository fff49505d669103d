/*
 * test_ctx.c - contexts and stacks: a switch runs a context's entry with
 * its argument and preserves what a call preserves (callee-saved
 * registers, floating-point control), a new context starts on an
 * ABI-aligned stack, 10,000 contexts resume in any order, a context
 * resumes on another thread, a stack serves one context after another
 * however the last one left it, and the stack pool reuses, bounds, guards
 * and counts its stacks.
 *
 * Code running inside a context only records what it saw; the test body
 * asserts afterwards, on the thread's own stack.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fenv.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ax.h"
#include "core/alloc.h"
#include "proc/ctx.h"
#include "proc/stack.h"

static struct stack_pool pool;
static struct ctx main_ctx;

static void setup(void)
{
    cr_assert_eq(ax__stack_pool_init(&pool, 0, 16), 0);
    ax__ctx_init_thread(&main_ctx);
}

static void teardown(void)
{
    ax__stack_pool_destroy(&pool);
}

TestSuite(ctx, .init = setup, .fini = teardown);

/* A stack from the pool and a context on it that will run entry(arg). */
static struct stack *start(struct ctx *c, void (*entry)(void *), void *arg)
{
    struct stack *s = ax__stack_get(&pool);

    cr_assert_not_null(s);
    ax__ctx_init(c, s->lo, s->size, entry, arg);
    return s;
}

static void finish(struct ctx *c, struct stack *s)
{
    ax__ctx_destroy(c);
    ax__stack_put(&pool, s);
}

/* ------------------------------------------------------------------ */

struct hello {
    struct ctx c;
    void *arg_seen;
    int runs;
};

static void say_hello(void *arg)
{
    struct hello *h = arg;

    h->arg_seen = arg;
    h->runs++;
    ax__ctx_exit(&h->c, &main_ctx);
}

Test(ctx, runs_entry_with_its_arg)
{
    struct hello h = {.runs = 0};
    struct stack *s = start(&h.c, say_hello, &h);

    ax__ctx_switch(&main_ctx, &h.c);
    cr_assert_eq(h.arg_seen, &h);
    cr_assert_eq(h.runs, 1);
    finish(&h.c, s);
}

/* ------------------------------------------------------------------ */

#define ROUNDS 10000

/* v, through a volatile, so that the compiler has to keep the result
 * rather than compute it again. */
static long launder(long v)
{
    static volatile long slot;

    slot = v;
    return slot;
}

static double launder_double(double v)
{
    static volatile double slot;

    slot = v;
    return slot;
}

struct ring {
    struct ctx a;
    struct ctx b;
    char turn; /* whose turn it is: 'm', 'a', then 'b' */
    long bad;  /* values found changed, or turns out of order */
};

static void take_turn(struct ring *r, char me, char next)
{
    if (r->turn != me)
        r->bad++;
    r->turn = next;
}

/*
 * Switches from -> to, and checks that its locals survive: ten integers
 * and eight doubles, as many as aarch64 has callee-saved registers of
 * each kind, all different in each context and round.
 */
static void hop(struct ring *r, struct ctx *from, struct ctx *to, long i)
{
    long salt = (long)(uintptr_t)from + i;
    long x0 = launder(salt);
    long x1 = launder(salt * 3);
    long x2 = launder(salt * 5);
    long x3 = launder(salt * 7);
    long x4 = launder(salt * 11);
    long x5 = launder(salt * 13);
    long x6 = launder(salt * 17);
    long x7 = launder(salt * 19);
    long x8 = launder(salt * 23);
    long x9 = launder(salt * 29);
    double d0 = launder_double((double)i + 0.5);
    double d1 = launder_double((double)i + 1.5);
    double d2 = launder_double((double)i + 2.5);
    double d3 = launder_double((double)i + 3.5);
    double d4 = launder_double((double)i + 4.5);
    double d5 = launder_double((double)i + 5.5);
    double d6 = launder_double((double)i + 6.5);
    double d7 = launder_double((double)i + 7.5);

    ax__ctx_switch(from, to);
    r->bad += x0 != salt || x1 != salt * 3 || x2 != salt * 5;
    r->bad += x3 != salt * 7 || x4 != salt * 11 || x5 != salt * 13;
    r->bad += x6 != salt * 17 || x7 != salt * 19 || x8 != salt * 23;
    r->bad += x9 != salt * 29;
    r->bad += d0 != (double)i + 0.5 || d1 != (double)i + 1.5;
    r->bad += d2 != (double)i + 2.5 || d3 != (double)i + 3.5;
    r->bad += d4 != (double)i + 4.5 || d5 != (double)i + 5.5;
    r->bad += d6 != (double)i + 6.5 || d7 != (double)i + 7.5;
}

static void ring_a(void *arg)
{
    struct ring *r = arg;

    for (long i = 0;; i++) {
        take_turn(r, 'a', 'b');
        hop(r, &r->a, &r->b, i);
    }
}

static void ring_b(void *arg)
{
    struct ring *r = arg;

    for (long i = 0;; i++) {
        take_turn(r, 'b', 'm');
        hop(r, &r->b, &main_ctx, -i);
    }
}

Test(ctx, ping_pong_preserves_registers)
{
    struct ring r = {.turn = 'm', .bad = 0};
    struct stack *sa = start(&r.a, ring_a, &r);
    struct stack *sb = start(&r.b, ring_b, &r);

    for (long i = 0; i < ROUNDS; i++) {
        take_turn(&r, 'm', 'a');
        hop(&r, &main_ctx, &r.a, 3 * i);
    }
    cr_assert_eq(r.bad, 0);
    cr_assert_eq(r.turn, 'm');
    finish(&r.a, sa);
    finish(&r.b, sb);
}

/* ------------------------------------------------------------------ */

struct fpu {
    struct ctx c;
    int initial; /* the rounding mode the context started with */
    int kept;    /* its own mode, after a switch away and back */
};

static void fpu_entry(void *arg)
{
    struct fpu *f = arg;

    f->initial = fegetround();
    fesetround(FE_UPWARD);
    ax__ctx_switch(&f->c, &main_ctx);
    f->kept = fegetround();
    ax__ctx_exit(&f->c, &main_ctx);
}

Test(ctx, floating_point_control_is_per_context)
{
    struct fpu f = {.initial = -1, .kept = -1};
    struct stack *s = start(&f.c, fpu_entry, &f);

    fesetround(FE_DOWNWARD);
    ax__ctx_switch(&main_ctx, &f.c);
    cr_assert_eq(fegetround(), FE_DOWNWARD);
    fesetround(FE_TOWARDZERO);
    ax__ctx_switch(&main_ctx, &f.c);
    cr_assert_eq(fegetround(), FE_TOWARDZERO);
    fesetround(FE_TONEAREST);
    cr_assert_eq(f.initial, FE_TONEAREST);
    cr_assert_eq(f.kept, FE_UPWARD);
    finish(&f.c, s);
}

/* ------------------------------------------------------------------ */

struct align {
    struct ctx c;
    struct stack *s;
    uintptr_t frame;
    uintptr_t local;
    char text[64];
};

static void align_entry(void *arg)
{
    struct align *a = arg;
    _Alignas(16) char buf[16];
    volatile uintptr_t where = (uintptr_t)buf;
    long double ld = 2.5L;

    a->frame = (uintptr_t)__builtin_frame_address(0);
    a->local = where;
    snprintf(a->text, sizeof(a->text), "%.3f %.2Lf %g", 3.25, ld, 1e-3);
    ax__ctx_exit(&a->c, &main_ctx);
}

Test(ctx, entry_runs_on_an_aligned_stack)
{
    struct align a = {.frame = 1};

    a.s = start(&a.c, align_entry, &a);
    ax__ctx_switch(&main_ctx, &a.c);
    cr_assert_eq(a.frame % 16, 0);
    cr_assert_eq(a.local % 16, 0);
    cr_assert(a.frame > (uintptr_t)a.s->lo);
    cr_assert(a.frame < (uintptr_t)a.s->lo + a.s->size);
    cr_assert_str_eq(a.text, "3.250 2.50 0.001");
    finish(&a.c, a.s);
}

/* ------------------------------------------------------------------ */

/* Under ThreadSanitizer each context's fiber costs about 2 ms to make
 * and four more mappings: 10,000 would take 20 s and pass
 * vm.max_map_count. */
#ifdef AX_CTX_TSAN
#define MANY 1000
#else
#define MANY 10000
#endif

struct slot {
    struct ctx c;
    struct stack *s;
    long id;
    long seen[2];  /* the id each phase found in its local */
    long order[2]; /* when each phase ran */
};

static long clock_now;

static void slot_entry(void *arg)
{
    struct slot *sl = arg;
    long id = launder(sl->id);

    ax__ctx_switch(&sl->c, &main_ctx);
    sl->seen[0] = id;
    sl->order[0] = clock_now++;
    ax__ctx_switch(&sl->c, &main_ctx);
    sl->seen[1] = id;
    sl->order[1] = clock_now++;
    ax__ctx_exit(&sl->c, &main_ctx);
}

/* Resumes every slot once, in the order perm(i) gives, and checks it. */
static void resume_all(struct slot *sl, int phase, long (*perm)(long))
{
    long base = clock_now;

    for (long i = 0; i < MANY; i++)
        ax__ctx_switch(&main_ctx, &sl[perm(i)].c);
    for (long i = 0; i < MANY; i++) {
        cr_assert_eq(sl[perm(i)].seen[phase], perm(i));
        cr_assert_eq(sl[perm(i)].order[phase], base + i);
    }
}

static long reverse(long i)
{
    return MANY - 1 - i;
}

/* 7919 is prime and does not divide MANY: a permutation. */
static long stride(long i)
{
    return i * 7919 % MANY;
}

Test(ctx, many_contexts_resume_in_any_order)
{
    struct slot *sl = calloc(MANY, sizeof(*sl));

    cr_assert_not_null(sl);
    for (long i = 0; i < MANY; i++) {
        sl[i].id = i;
        sl[i].s = start(&sl[i].c, slot_entry, &sl[i]);
        ax__ctx_switch(&main_ctx, &sl[i].c);
    }
    cr_assert_eq(ax__stack_count(), MANY);
    resume_all(sl, 0, reverse);
    resume_all(sl, 1, stride);
    for (long i = 0; i < MANY; i++)
        finish(&sl[i].c, sl[i].s);
    ax__stack_pool_destroy(&pool);
    cr_assert_eq(ax__stack_count(), 0);
    free(sl);
}

/* ------------------------------------------------------------------ */

struct reuse {
    struct ctx c;
    int round;
    int runs;
    long sum;
};

/* Leaves for good: by ax__ctx_exit in even rounds, suspended and never
 * resumed in odd ones. */
static void leave(struct reuse *r)
{
    if (r->round % 2 == 0)
        ax__ctx_exit(&r->c, &main_ctx);
    ax__ctx_switch(&r->c, &main_ctx);
}

/* Many small frames, each with its own redzones under ASan. */
static void nest(struct reuse *r, int depth)
{
    char buf[40];

    memset(buf, depth, sizeof(buf));
    if (depth > 0)
        nest(r, depth - 1);
    else
        leave(r);
    r->sum += buf[depth % (int)sizeof(buf)];
}

/* One big frame, written by memset over where those redzones were. */
static void flat(struct reuse *r)
{
    char big[3000];

    memset(big, r->round, sizeof(big));
    r->sum += big[r->round % (int)sizeof(big)];
    leave(r);
}

static void reuse_entry(void *arg)
{
    struct reuse *r = arg;

    r->runs++;
    if (r->round % 7 == 0)
        flat(r);
    else
        nest(r, r->round % 7 * 3);
}

Test(ctx, a_stack_serves_context_after_context)
{
    struct stack *s = ax__stack_get(&pool);
    struct reuse r = {.runs = 0};

    cr_assert_not_null(s);
    for (r.round = 0; r.round < 1000; r.round++) {
        ax__ctx_init(&r.c, s->lo, s->size, reuse_entry, &r);
        ax__ctx_switch(&main_ctx, &r.c);
        ax__ctx_destroy(&r.c);
    }
    cr_assert_eq(r.runs, 1000);
    ax__stack_put(&pool, s);
}

/* ------------------------------------------------------------------ */

struct roam {
    struct ctx c;
    struct ctx *back; /* the context to switch back to */
    pid_t tid[3];     /* the thread each step ran on */
    pid_t thread;     /* the second thread */
    long bad;
};

/* gettid, not pthread_self: glibc declares that const, so a compiler
 * may keep its value across a switch. */
static void roam_entry(void *arg)
{
    struct roam *r = arg;
    long kept = launder((long)(uintptr_t)r);

    for (int i = 0; i < 2; i++) {
        r->tid[i] = gettid();
        ax__ctx_switch(&r->c, r->back);
        r->bad += kept != (long)(uintptr_t)r;
    }
    r->tid[2] = gettid();
    ax__ctx_exit(&r->c, r->back);
}

static void *roam_thread(void *arg)
{
    struct roam *r = arg;
    struct ctx own;

    ax__ctx_init_thread(&own);
    r->thread = gettid();
    r->back = &own;
    ax__ctx_switch(&own, &r->c);
    return NULL;
}

Test(ctx, a_context_resumes_on_another_thread)
{
    struct roam r = {.back = &main_ctx, .bad = 0};
    struct stack *s = start(&r.c, roam_entry, &r);
    pthread_t t;

    ax__ctx_switch(&main_ctx, &r.c);
    cr_assert_eq(pthread_create(&t, NULL, roam_thread, &r), 0);
    cr_assert_eq(pthread_join(t, NULL), 0);
    r.back = &main_ctx;
    ax__ctx_switch(&main_ctx, &r.c);
    cr_assert_eq(r.tid[0], gettid());
    cr_assert_eq(r.tid[1], r.thread);
    cr_assert_neq(r.thread, gettid());
    cr_assert_eq(r.tid[2], gettid());
    cr_assert_eq(r.bad, 0);
    finish(&r.c, s);
}

/* ------------------------------------------------------------------ */

static void return_entry(void *arg)
{
    (void)arg;
}

Test(ctx, returning_from_entry_aborts, .signal = SIGABRT)
{
    struct ctx c;

    start(&c, return_entry, NULL);
    ax__ctx_switch(&main_ctx, &c);
}

/* ================================================================== */

TestSuite(stack, .init = setup, .fini = teardown);

Test(stack, put_then_get_reuses_the_stack)
{
    struct stack *s = ax__stack_get(&pool);
    void *lo;

    cr_assert_not_null(s);
    lo = s->lo;
    cr_assert_eq(s->size, AX_STACK_SIZE_DEFAULT);
    ax__stack_put(&pool, s);
    cr_assert_eq(pool.nfree, 1);
    cr_assert_eq(ax__stack_get(&pool), s);
    cr_assert_eq(s->lo, lo);
    cr_assert_eq(pool.nfree, 0);
    ax__stack_put(&pool, s);
}

Test(stack, count_follows_maps_and_unmaps)
{
    struct stack *s[20];

    cr_assert_eq(ax__stack_count(), 0);
    for (int i = 0; i < 20; i++) {
        s[i] = ax__stack_get(&pool);
        cr_assert_not_null(s[i]);
        cr_assert_eq(ax__stack_count(), (size_t)i + 1);
    }
    for (int i = 0; i < 20; i++)
        ax__stack_put(&pool, s[i]);
    cr_assert_eq(pool.nfree, 16);
    cr_assert_eq(ax__stack_count(), 16);
    ax__stack_pool_destroy(&pool);
    cr_assert_eq(ax__stack_count(), 0);
}

Test(stack, sizes_round_up_to_pages)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct stack_pool p;

    cr_assert_eq(ax__stack_pool_init(&p, 1, 0), 0);
    cr_assert_eq(p.stack_size, page);
    cr_assert_eq(ax__stack_pool_init(&p, page + 1, 0), 0);
    cr_assert_eq(p.stack_size, 2 * page);
    cr_assert_eq(ax__stack_pool_init(&p, SIZE_MAX, 0), AX_EINVAL);
}

Test(stack, a_stack_of_another_size_is_not_kept)
{
    struct stack_pool small;
    struct stack *s;

    cr_assert_eq(ax__stack_pool_init(&small, 16384, 4), 0);
    s = ax__stack_get(&small);
    cr_assert_not_null(s);
    ax__stack_put(&pool, s);
    cr_assert_eq(pool.nfree, 0);
    cr_assert_eq(ax__stack_count(), 0);
    ax__stack_pool_destroy(&small);
}

Test(stack, usable_region_is_writable)
{
    struct stack *s = ax__stack_get(&pool);

    cr_assert_not_null(s);
    memset(s->lo, 0xa5, s->size);
    cr_assert_eq(((unsigned char *)s->lo)[0], 0xa5);
    cr_assert_eq(((unsigned char *)s->lo)[s->size - 1], 0xa5);
    ax__stack_put(&pool, s);
}

/* The permissions /proc/self/maps shows for the mapping holding addr. */
static void perms_at(uintptr_t addr, char perms[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long lo;
    unsigned long hi;

    cr_assert_not_null(f);
    strcpy(perms, "none");
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && addr >= lo &&
            addr < hi)
            break;
        strcpy(perms, "none");
    }
    fclose(f);
}

Test(stack, guard_page_is_inaccessible)
{
    struct stack *s = ax__stack_get(&pool);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo;
    char perms[5];

    cr_assert_not_null(s);
    lo = (uintptr_t)s->lo;
    perms_at(lo - page, perms);
    cr_assert_str_eq(perms, "---p");
    perms_at(lo - 1, perms);
    cr_assert_str_eq(perms, "---p");
    perms_at(lo, perms);
    cr_assert_str_eq(perms, "rw-p");
    perms_at(lo + s->size - 1, perms);
    cr_assert_str_eq(perms, "rw-p");
    cr_assert(ax__stack_is_guard(s, (void *)(lo - 1)));
    cr_assert(ax__stack_is_guard(s, (void *)(lo - page)));
    cr_assert(!ax__stack_is_guard(s, (void *)lo));
    cr_assert(!ax__stack_is_guard(s, (void *)(lo - page - 1)));
    cr_assert(!ax__stack_is_guard(s, (void *)(lo + s->size)));
    ax__stack_put(&pool, s);
}

Test(stack, the_limit_is_a_clean_failure)
{
    size_t limit = ax__stack_limit();
    struct stack_pool p;
    struct stack *all = NULL;
    struct stack *s;
    size_t n = 0;

    cr_assert_gt(limit, 1000);
    cr_assert_eq(ax__stack_pool_init(&p, 1, 0), 0);
    while ((s = ax__stack_get(&p))) {
        s->next = all;
        all = s;
        n++;
    }
    cr_assert_eq(errno, EAGAIN);
    cr_assert_eq(n, limit);
    cr_assert_eq(ax__stack_count(), limit);
    while ((s = all)) {
        all = s->next;
        ax__stack_put(&p, s);
    }
    cr_assert_eq(ax__stack_count(), 0);
}

#ifdef AX_TESTING
Test(stack, out_of_memory_leaves_the_count_alone)
{
    struct stack *s;
    int err;

    ax__alloc_fail_after(0);
    s = ax__stack_get(&pool);
    err = errno;
    ax__alloc_fail_after(-1);
    cr_assert_null(s);
    cr_assert_eq(err, ENOMEM);
    cr_assert_eq(ax__stack_count(), 0);
}
#endif
