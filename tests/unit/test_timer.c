/*
 * test_timer.c - the scheduler's timing wheel: a timer expires at the
 * first advance at or after its deadline and never before, exactly once,
 * in non-decreasing deadline order; cancelled timers never expire; expired
 * timers can be re-added; next_deadline is a lower bound, exact on the
 * first level; large jumps in time cost work bounded by the timers, not
 * by the milliseconds. Random runs are seeded and print their seed.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sched/timer.h"

#define SEED UINT64_C(0x7a11ed5eed)

TestSuite(timer_wheel, .timeout = 120);

/* A caller's object with a timer embedded, and what the test expects. */
struct item {
    struct timer timer;
    uint64_t period;      /* ms between firings, for periodic items */
    size_t added_step;    /* advances done before its last add */
    unsigned fired;
    bool cancelled;       /* cancelled while armed */
};

/* A wheel, its items, and the advances made so far. */
struct run {
    struct wheel wheel;
    struct item *items;
    struct item **order;  /* items by deadline, for next_deadline checks */
    size_t n;
    size_t cursor;        /* order[0..cursor) are no longer armed */
    size_t armed;
    size_t step;          /* advances done */
    uint64_t prev;        /* the time of the advance before the last */
    uint64_t now;         /* the time of the last advance */
    uint64_t rng;
};

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));

    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static struct item *item_of(struct timer *t)
{
    return (struct item *)((char *)t - offsetof(struct item, timer));
}

static void run_init(struct run *r, size_t n, uint64_t now, uint64_t seed)
{
    memset(r, 0, sizeof(*r));
    r->items = calloc(n, sizeof(*r->items));
    cr_assert_not_null(r->items);
    r->n = n;
    r->prev = now;
    r->now = now;
    r->rng = seed;
    ax__wheel_init(&r->wheel, now);
    for (size_t i = 0; i < n; i++)
        ax__timer_init(&r->items[i].timer);
}

static void run_destroy(struct run *r)
{
    ax__wheel_destroy(&r->wheel);
    free(r->order);
    free(r->items);
}

static void add_item(struct run *r, struct item *it, uint64_t deadline)
{
    ax__wheel_add(&r->wheel, &it->timer, deadline);
    it->added_step = r->step;
    r->armed++;
    cr_assert(ax__timer_is_armed(&it->timer));
    cr_assert_eq(ax__wheel_count(&r->wheel), r->armed);
}

static void cancel_item(struct run *r, struct item *it)
{
    if (ax__timer_is_armed(&it->timer)) {
        it->cancelled = true;
        r->armed--;
    }
    ax__wheel_cancel(&r->wheel, &it->timer);
    cr_assert(!ax__timer_is_armed(&it->timer));
    cr_assert_eq(ax__wheel_count(&r->wheel), r->armed);
}

/* Checks one expired timer: due, and not due at any earlier advance. */
static void check_fired(struct run *r, struct item *it, uint64_t least)
{
    uint64_t d = it->timer.deadline;

    cr_assert(!ax__timer_is_armed(&it->timer));
    cr_assert(!it->cancelled, "cancelled timer fired (seed %#llx)",
              (unsigned long long)SEED);
    cr_assert_leq(d, r->now, "early: deadline %llu at %llu",
                  (unsigned long long)d, (unsigned long long)r->now);
    cr_assert(d > r->prev || it->added_step == r->step - 1,
              "late: deadline %llu, previous advance %llu",
              (unsigned long long)d, (unsigned long long)r->prev);
    cr_assert_geq(d, least, "out of order");
    it->fired++;
}

/* Advances to now and checks what expired; returns the expired list. */
static struct timer *advance(struct run *r, uint64_t now)
{
    struct timer *list;
    size_t n;
    size_t seen = 0;
    uint64_t least = 0;

    r->prev = r->now;
    r->now = now;
    r->step++;
    n = ax__wheel_advance(&r->wheel, now, &list);
    for (struct timer *t = list; t != NULL; t = t->next, seen++) {
        check_fired(r, item_of(t), least);
        least = t->deadline;
    }
    cr_assert_eq(seen, n);
    r->armed -= n;
    cr_assert_eq(ax__wheel_count(&r->wheel), r->armed);
    return list;
}

static int by_deadline(const void *a, const void *b)
{
    uint64_t x = (*(struct item *const *)a)->timer.deadline;
    uint64_t y = (*(struct item *const *)b)->timer.deadline;

    return x < y ? -1 : x > y;
}

static void sort_items(struct run *r)
{
    r->order = calloc(r->n, sizeof(*r->order));
    cr_assert_not_null(r->order);
    for (size_t i = 0; i < r->n; i++)
        r->order[i] = &r->items[i];
    qsort(r->order, r->n, sizeof(*r->order), by_deadline);
}

/* next_deadline against the true earliest armed deadline. */
static void check_next_deadline(struct run *r)
{
    uint64_t next = ax__wheel_next_deadline(&r->wheel);
    uint64_t d;

    while (r->cursor < r->n &&
           !ax__timer_is_armed(&r->order[r->cursor]->timer))
        r->cursor++;
    if (r->cursor == r->n) {
        cr_assert_eq(next, UINT64_MAX);
        return;
    }
    d = r->order[r->cursor]->timer.deadline;
    cr_assert_leq(next, d, "next_deadline %llu after earliest %llu",
                  (unsigned long long)next, (unsigned long long)d);
    if (d <= r->now)
        return;
    cr_assert_gt(next, r->now);
    if (d >> 6 == r->now >> 6)
        cr_assert_eq(next, d, "inexact on the first level");
}

/* Mostly short steps, some long, a few very long. */
static uint64_t random_step(uint64_t *rng)
{
    uint64_t x = rng_next(rng);
    uint64_t kind = x % 100;

    x >>= 8;
    if (kind == 0)
        return x % 100000000;
    if (kind < 9)
        return x % 1000000;
    return kind < 60 ? x % 64 : x % 10000;
}

static void cancel_some(struct run *r, size_t how_many)
{
    for (size_t i = 0; i < how_many; i++)
        cancel_item(r, &r->items[rng_next(&r->rng) % r->n]);
}

/*
 * 100,000 timers with deadlines from just before the start to 10^9 ms on
 * (spread over ranges 1 to 10^9 ms), advanced in random steps, with
 * `cancels` random cancellations at the start and before every advance.
 */
static void random_run(size_t cancels)
{
    static const uint64_t range[] = {1, 10, 100, 1000, 10000, 100000,
                                     1000000, 10000000, 100000000,
                                     1000000000};
    uint64_t t0 = UINT64_C(1234567890123);
    struct run r;

    run_init(&r, 100000, t0, SEED);
    for (size_t i = 0; i < r.n; i++) {
        uint64_t span = range[rng_next(&r.rng) % 10];

        add_item(&r, &r.items[i], t0 - 50 + rng_next(&r.rng) % span);
    }
    sort_items(&r);
    cancel_some(&r, cancels * 100);
    check_next_deadline(&r);
    while (r.now < t0 + 1000000000) {
        advance(&r, r.now + random_step(&r.rng));
        check_next_deadline(&r);
        cancel_some(&r, cancels);
        check_next_deadline(&r);
    }
    advance(&r, UINT64_MAX);
    cr_assert_eq(ax__wheel_count(&r.wheel), 0);
    cr_assert_eq(ax__wheel_next_deadline(&r.wheel), UINT64_MAX);
    for (size_t i = 0; i < r.n; i++)
        cr_assert_eq(r.items[i].fired, r.items[i].cancelled ? 0 : 1);
    run_destroy(&r);
}

Test(timer_wheel, empty_wheel)
{
    struct run r;
    struct timer *list;

    run_init(&r, 1, 77, SEED);
    list = &r.items[0].timer;
    cr_assert(!ax__timer_is_armed(&r.items[0].timer));
    cr_assert_eq(ax__wheel_count(&r.wheel), 0);
    cr_assert_eq(ax__wheel_next_deadline(&r.wheel), UINT64_MAX);
    cancel_item(&r, &r.items[0]);
    cr_assert_eq(ax__wheel_advance(&r.wheel, 1000, &list), 0);
    cr_assert_null(list);
    cr_assert_eq(ax__wheel_advance(&r.wheel, UINT64_MAX - 1, &list), 0);
    cr_assert_null(list);
    cr_assert_eq(r.wheel.visits, 0);
    run_destroy(&r);
}

Test(timer_wheel, fires_exactly_at_deadline)
{
    static const uint64_t ahead[] = {1, 2, 62, 63, 64, 65, 127, 4095, 4096,
                                     4097, 262143, 262144, 1000000,
                                     UINT64_C(1) << 36, UINT64_C(1) << 50};
    struct run r;

    run_init(&r, 1, 12345, SEED);
    for (size_t i = 0; i < sizeof(ahead) / sizeof(ahead[0]); i++) {
        uint64_t d = r.now + ahead[i];

        add_item(&r, &r.items[0], d);
        cr_assert_null(advance(&r, d - 1));
        cr_assert_eq(advance(&r, d), &r.items[0].timer);
        cr_assert_eq(r.items[0].fired, i + 1);
        cr_assert_null(advance(&r, d));
    }
    run_destroy(&r);
}

Test(timer_wheel, late_advance_fires_everything_due_in_order)
{
    struct run r;

    run_init(&r, 200, 0, SEED);
    for (size_t i = 1; i < r.n; i++)
        add_item(&r, &r.items[i], 1 + rng_next(&r.rng) % 300000);
    add_item(&r, &r.items[0], 0);
    cr_assert_eq(advance(&r, 300000), &r.items[0].timer);
    cr_assert_eq(r.armed, 0);
    run_destroy(&r);
}

Test(timer_wheel, deadline_now_or_past_fires_at_next_advance)
{
    struct run r;
    struct timer *list;

    run_init(&r, 4, 1000, SEED);
    add_item(&r, &r.items[0], 1000);
    add_item(&r, &r.items[1], 3);
    add_item(&r, &r.items[2], 999);
    add_item(&r, &r.items[3], 1001);
    cr_assert_leq(ax__wheel_next_deadline(&r.wheel), 3);
    list = advance(&r, 1000);
    cr_assert_eq(list, &r.items[1].timer);
    cr_assert_eq(list->next, &r.items[2].timer);
    cr_assert_eq(list->next->next, &r.items[0].timer);
    cr_assert_null(list->next->next->next);
    cr_assert_eq(ax__wheel_next_deadline(&r.wheel), 1001);
    run_destroy(&r);
}

Test(timer_wheel, same_deadline_fire_together)
{
    struct run r;

    run_init(&r, 1000, 5, SEED);
    for (size_t i = 0; i < r.n; i++)
        add_item(&r, &r.items[i], 100000);
    cr_assert_null(advance(&r, 99999));
    advance(&r, 100000);
    cr_assert_eq(r.armed, 0);
    for (size_t i = 0; i < r.n; i++)
        cr_assert_eq(r.items[i].fired, 1);
    run_destroy(&r);
}

Test(timer_wheel, random_deadlines_fire_once_in_time)
{
    random_run(0);
}

Test(timer_wheel, cancelled_timers_never_fire)
{
    random_run(30);
}

Test(timer_wheel, cancel_is_idempotent)
{
    struct run r;

    run_init(&r, 3, 0, SEED);
    add_item(&r, &r.items[0], 10);
    add_item(&r, &r.items[1], 10);
    add_item(&r, &r.items[2], 0);
    cancel_item(&r, &r.items[0]);
    cancel_item(&r, &r.items[0]);
    cancel_item(&r, &r.items[2]);
    cr_assert_eq(ax__wheel_next_deadline(&r.wheel), 10);
    cr_assert_eq(advance(&r, 10), &r.items[1].timer);
    cancel_item(&r, &r.items[1]);
    cr_assert(!r.items[1].cancelled);
    cr_assert_eq(ax__wheel_next_deadline(&r.wheel), UINT64_MAX);
    run_destroy(&r);
}

Test(timer_wheel, readd_from_expired_list)
{
    struct run r;
    struct timer *t;

    run_init(&r, 1, 0, SEED);
    add_item(&r, &r.items[0], 10);
    t = advance(&r, 10);
    cr_assert_eq(t, &r.items[0].timer);
    add_item(&r, item_of(t), 20);
    cr_assert_null(advance(&r, 19));
    cr_assert_eq(advance(&r, 25), t);
    add_item(&r, item_of(t), 25);
    cr_assert_eq(advance(&r, 25), t);
    cr_assert_eq(r.items[0].fired, 3);
    run_destroy(&r);
}

/* Re-adds every timer of list a period later (now and then already due). */
static void readd_periodic(struct run *r, struct timer *list)
{
    while (list != NULL) {
        struct timer *next = list->next;
        struct item *it = item_of(list);
        uint64_t d = list->deadline + it->period;

        add_item(r, it, rng_next(&r->rng) % 4 == 0 ? r->now : d);
        list = next;
    }
}

Test(timer_wheel, periodic_timers_readded_from_expired_list)
{
    struct run r;
    unsigned total = 0;

    run_init(&r, 1000, 999, SEED);
    for (size_t i = 0; i < r.n; i++) {
        r.items[i].period = 1 + rng_next(&r.rng) % 5000;
        add_item(&r, &r.items[i], r.now + r.items[i].period);
    }
    for (int i = 0; i < 5000; i++) {
        uint64_t step = rng_next(&r.rng) % 50 == 0 ? 20000 : 0;

        readd_periodic(&r, advance(&r, r.now + step +
                                       rng_next(&r.rng) % 200));
        cr_assert_eq(ax__wheel_count(&r.wheel), r.n);
    }
    for (size_t i = 0; i < r.n; i++)
        total += r.items[i].fired;
    cr_assert_gt(total, 10 * r.n);
    run_destroy(&r);
}

Test(timer_wheel, next_deadline_bounds)
{
    struct run r;

    run_init(&r, 3, 1024, SEED);
    cr_assert_eq(ax__wheel_next_deadline(&r.wheel), UINT64_MAX);
    add_item(&r, &r.items[0], 5000);
    cr_assert_leq(ax__wheel_next_deadline(&r.wheel), 5000);
    cr_assert_gt(ax__wheel_next_deadline(&r.wheel), 1024);
    add_item(&r, &r.items[1], 1050);
    cr_assert_eq(ax__wheel_next_deadline(&r.wheel), 1050);
    cancel_item(&r, &r.items[1]);
    add_item(&r, &r.items[2], 1100);
    cr_assert_eq(ax__wheel_next_deadline(&r.wheel), 1088);
    cr_assert_null(advance(&r, 1088));
    cr_assert_eq(ax__wheel_next_deadline(&r.wheel), 1100);
    cr_assert_eq(advance(&r, 1100), &r.items[2].timer);
    while (ax__wheel_next_deadline(&r.wheel) < 5000)
        cr_assert_null(advance(&r, ax__wheel_next_deadline(&r.wheel)));
    cr_assert_eq(ax__wheel_next_deadline(&r.wheel), 5000);
    cancel_item(&r, &r.items[0]);
    cr_assert_eq(ax__wheel_next_deadline(&r.wheel), UINT64_MAX);
    run_destroy(&r);
}

Test(timer_wheel, huge_jump_costs_steps_per_timer_not_per_ms)
{
    static const uint64_t ahead[] = {1, 1000000, 1000000000,
                                     100000000000, 999999999999};
    struct run r;
    size_t n = sizeof(ahead) / sizeof(ahead[0]);
    uint64_t t0 = 987654321;

    run_init(&r, n, t0, SEED);
    for (size_t i = 0; i < n; i++)
        add_item(&r, &r.items[n - 1 - i], t0 + ahead[i]);
    cr_assert_eq(advance(&r, t0 + 1000000000000), &r.items[n - 1].timer);
    cr_assert_eq(r.armed, 0);
    cr_assert_leq(r.wheel.visits, n * AX_WHEEL_LEVELS);
    add_item(&r, &r.items[0], UINT64_MAX);
    cr_assert_null(advance(&r, UINT64_MAX - 1));
    cr_assert_eq(advance(&r, UINT64_MAX), &r.items[0].timer);
    cr_assert_leq(r.wheel.visits, (n + 1) * AX_WHEEL_LEVELS);
    run_destroy(&r);
}

Test(timer_wheel, destroy_disarms_remaining_timers)
{
    struct run r;

    run_init(&r, 3, 0, SEED);
    add_item(&r, &r.items[0], 0);
    add_item(&r, &r.items[1], 5);
    add_item(&r, &r.items[2], UINT64_C(1) << 40);
    ax__wheel_destroy(&r.wheel);
    for (size_t i = 0; i < r.n; i++)
        cr_assert(!ax__timer_is_armed(&r.items[i].timer));
    ax__wheel_init(&r.wheel, 0);
    run_destroy(&r);
}
