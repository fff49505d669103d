/*
 * timer.c - the hierarchical timing wheel of timer.h.
 *
 * Invariants, besides those of timer.h:
 * - A timer in slot s of level l has a deadline greater than w->now that
 *   agrees with w->now above digit l and has digit s > digit l of w->now.
 *   Advance keeps this by emptying a slot at the moment w->now reaches its
 *   start; every other slot then still starts after w->now.
 * - occupied[l] has bit s set exactly when slot s of level l is not
 *   empty, and levels has bit l set exactly when occupied[l] != 0. The
 *   due list has no bit.
 * - Every list is a doubly linked list through next and pprev, pprev of
 *   the first timer pointing at the slot's head; slot names the list.
 * - count is the number of timers on all lists.
 */
#include "timer.h"

#include "core/assert.h"

#define DIGIT_MASK ((uint64_t)AX_WHEEL_SLOTS - 1)

/* The level for a deadline later than now: its highest base-64 digit
 * that differs from now's. */
static unsigned level_for(uint64_t now, uint64_t deadline)
{
    unsigned bit = 63u - (unsigned)__builtin_clzll(deadline ^ now);

    return bit / AX_WHEEL_BITS;
}

/* The first millisecond of slot s of level l while the time is now. */
static uint64_t slot_start(uint64_t now, unsigned level, unsigned slot)
{
    unsigned shift = level * AX_WHEEL_BITS;
    unsigned above = shift + AX_WHEEL_BITS;
    uint64_t base = above < 64 ? now >> above << above : 0;

    return base | (uint64_t)slot << shift;
}

/* Pushes t on list `slot` (a slot or the due list). */
static void link_timer(struct wheel *w, struct timer *t, unsigned slot)
{
    struct timer **head = &w->slots[slot];

    t->next = *head;
    if (t->next != NULL)
        t->next->pprev = &t->next;
    *head = t;
    t->pprev = head;
    t->slot = slot;
}

/* Links t, whose deadline is later than w->now, into its slot. */
static void place(struct wheel *w, struct timer *t)
{
    unsigned level = level_for(w->now, t->deadline);
    unsigned digit = (unsigned)(t->deadline >> (level * AX_WHEEL_BITS) &
                                DIGIT_MASK);

    link_timer(w, t, level * AX_WHEEL_SLOTS + digit);
    w->occupied[level] |= (uint64_t)1 << digit;
    w->levels |= 1u << level;
}

/* Clears the bits of slot `digit` of `level`, which is now empty. */
static void mark_empty(struct wheel *w, unsigned level, unsigned digit)
{
    w->occupied[level] &= ~((uint64_t)1 << digit);
    if (w->occupied[level] == 0)
        w->levels &= ~(1u << level);
}

/* Takes t off its list, clearing the bits of a slot it leaves empty. */
static void unlink_timer(struct wheel *w, struct timer *t)
{
    *t->pprev = t->next;
    if (t->next != NULL)
        t->next->pprev = t->pprev;
    t->pprev = NULL;
    if (t->slot != AX_WHEEL_DUE && w->slots[t->slot] == NULL)
        mark_empty(w, t->slot / AX_WHEEL_SLOTS, t->slot % AX_WHEEL_SLOTS);
}

/* Empties slot `slot`, returning its list; its bits are the caller's. */
static struct timer *take_slot(struct wheel *w, unsigned slot)
{
    struct timer *list = w->slots[slot];

    w->slots[slot] = NULL;
    return list;
}

void ax__timer_init(struct timer *t)
{
    t->next = NULL;
    t->pprev = NULL;
    t->deadline = 0;
    t->slot = 0;
}

bool ax__timer_is_armed(const struct timer *t)
{
    return t->pprev != NULL;
}

void ax__wheel_init(struct wheel *w, uint64_t now_ms)
{
    w->now = now_ms;
    w->due_min = UINT64_MAX;
    w->count = 0;
    w->visits = 0;
    w->levels = 0;
    for (unsigned l = 0; l < AX_WHEEL_LEVELS; l++)
        w->occupied[l] = 0;
    for (unsigned s = 0; s <= AX_WHEEL_DUE; s++)
        w->slots[s] = NULL;
}

void ax__wheel_destroy(struct wheel *w)
{
    for (unsigned s = 0; s <= AX_WHEEL_DUE; s++) {
        for (struct timer *t = take_slot(w, s); t != NULL; t = t->next)
            t->pprev = NULL;
    }
    w->count = 0;
    w->levels = 0;
}

void ax__wheel_add(struct wheel *w, struct timer *t, uint64_t deadline_ms)
{
    ax_assert(!ax__timer_is_armed(t));
    t->deadline = deadline_ms;
    w->count++;
    if (deadline_ms > w->now) {
        place(w, t);
        return;
    }
    if (w->slots[AX_WHEEL_DUE] == NULL || deadline_ms < w->due_min)
        w->due_min = deadline_ms;
    link_timer(w, t, AX_WHEEL_DUE);
}

void ax__wheel_cancel(struct wheel *w, struct timer *t)
{
    if (!ax__timer_is_armed(t))
        return;
    unlink_timer(w, t);
    w->count--;
}

/* Merges two lists sorted by deadline, linked through next. */
static struct timer *merge(struct timer *a, struct timer *b)
{
    struct timer *head = NULL;
    struct timer **tail = &head;

    while (a != NULL && b != NULL) {
        struct timer **least = b->deadline < a->deadline ? &b : &a;

        *tail = *least;
        tail = &(*least)->next;
        *least = (*least)->next;
    }
    *tail = a != NULL ? a : b;
    return head;
}

/* Sorts a list linked through next by deadline (merge sort, O(n log n)). */
static struct timer *sort_by_deadline(struct timer *list)
{
    struct timer *slow = list;
    struct timer *fast;
    struct timer *second;

    if (list == NULL || list->next == NULL)
        return list;
    for (fast = list->next; fast != NULL && fast->next != NULL;
         fast = fast->next->next)
        slow = slow->next;
    second = slow->next;
    slow->next = NULL;
    return merge(sort_by_deadline(list), sort_by_deadline(second));
}

/*
 * The expired list under construction: its head, and the link to fill
 * next. Appending in the order slots are emptied keeps deadlines
 * non-decreasing, since every slot lies wholly before the next one.
 */
struct expiry {
    struct timer *head;
    struct timer **tail;
    size_t n;
};

static void expire(struct wheel *w, struct expiry *x, struct timer *t)
{
    t->pprev = NULL;
    w->count--;
    *x->tail = t;
    x->tail = &t->next;
    x->n++;
}

/* Expires the due list (deadlines at or before w->now), earliest first. */
static void expire_due(struct wheel *w, struct expiry *x)
{
    struct timer *t = sort_by_deadline(take_slot(w, AX_WHEEL_DUE));

    while (t != NULL) {
        struct timer *next = t->next;

        expire(w, x, t);
        t = next;
    }
}

/*
 * Moves w->now to `start`, the start of the earliest occupied slot, and
 * empties that slot: each of its timers expires if due, else moves to a
 * lower level.
 */
static void visit_slot(struct wheel *w, struct expiry *x, unsigned level,
                       unsigned digit, uint64_t start)
{
    struct timer *t = take_slot(w, level * AX_WHEEL_SLOTS + digit);

    w->now = start;
    w->visits++;
    mark_empty(w, level, digit);
    while (t != NULL) {
        struct timer *next = t->next;

        if (t->deadline <= w->now)
            expire(w, x, t);
        else
            place(w, t);
        t = next;
    }
}

size_t ax__wheel_advance(struct wheel *w, uint64_t now_ms,
                         struct timer **expired)
{
    struct expiry x = {NULL, &x.head, 0};

    expire_due(w, &x);
    while (w->levels != 0) {
        unsigned level = (unsigned)__builtin_ctz(w->levels);
        unsigned digit = (unsigned)__builtin_ctzll(w->occupied[level]);
        uint64_t start = slot_start(w->now, level, digit);

        if (start > now_ms)
            break;
        visit_slot(w, &x, level, digit, start);
    }
    if (now_ms > w->now)
        w->now = now_ms;
    *x.tail = NULL;
    *expired = x.head;
    return x.n;
}

uint64_t ax__wheel_next_deadline(const struct wheel *w)
{
    unsigned level;

    if (w->slots[AX_WHEEL_DUE] != NULL)
        return w->due_min;
    if (w->levels == 0)
        return UINT64_MAX;
    level = (unsigned)__builtin_ctz(w->levels);
    return slot_start(w->now, level,
                      (unsigned)__builtin_ctzll(w->occupied[level]));
}

size_t ax__wheel_count(const struct wheel *w)
{
    return w->count;
}
