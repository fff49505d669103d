/*
 * timer.h - the timer store of one scheduler thread: a hierarchical timing
 * wheel of intrusive timers (receive ... after, send_after, sleep).
 *
 * Time is in milliseconds as uint64_t, passed in by the caller; the wheel
 * never reads a clock, so its behaviour is a function of its calls alone.
 *
 * The wheel has AX_WHEEL_LEVELS levels of 64 slots. Level l is digit l of
 * a time written in base 64: slot s of level l holds the timers whose
 * deadline agrees with the wheel's time `now` above digit l and has digit
 * s there, and s is always greater than now's digit l. So every slot lies
 * wholly in the future, a level's slots are in time order, every slot of
 * level l comes before every slot of level l + 1, and eleven levels cover
 * every uint64_t deadline (no overflow list, no horizon). A timer goes on
 * the level of the highest base-64 digit in which its deadline differs
 * from now; when advancing reaches its slot, it moves to a lower level or
 * expires. A timer added with a deadline at or before now waits on the
 * `due` list until the next advance. Bitmaps of occupied slots and levels
 * let advance jump from one occupied slot to the next, so its work is
 * proportional to the timers and occupied slots it passes, never to the
 * milliseconds elapsed.
 *
 * Not thread-safe: a wheel and the timers armed on it belong to one
 * scheduler thread, which alone may call any function here. Nothing here
 * allocates.
 */
#ifndef AX_SCHED_TIMER_H
#define AX_SCHED_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AX_WHEEL_BITS 6
#define AX_WHEEL_SLOTS (1u << AX_WHEEL_BITS)
/* ceil(64 / AX_WHEEL_BITS): enough digits for every uint64_t time. */
#define AX_WHEEL_LEVELS 11
/* Index in wheel.slots of the list of timers added already due. */
#define AX_WHEEL_DUE (AX_WHEEL_LEVELS * AX_WHEEL_SLOTS)

/*
 * A timer, embedded in the caller's own object (found again from the
 * timer with offsetof). It knows its deadline and where it is linked,
 * nothing about what firing it means. Armed exactly when pprev is not
 * NULL; `next` also links the list ax__wheel_advance() returns.
 */
struct timer {
    struct timer *next;
    struct timer **pprev;   /* the pointer that points here */
    uint64_t deadline;      /* ms */
    uint32_t slot;          /* index in wheel.slots of its list */
};

struct wheel {
    uint64_t now;           /* ms: the time of the last advance */
    uint64_t due_min;       /* a lower bound of the due list's deadlines */
    size_t count;           /* armed timers */
    uint64_t visits;        /* slots emptied by advance, ever: a statistic */
    uint32_t levels;        /* bit l set: occupied[l] != 0 */
    uint64_t occupied[AX_WHEEL_LEVELS]; /* bit s set: slot s has timers */
    struct timer *slots[AX_WHEEL_DUE + 1]; /* level * 64 + slot, then due */
};

/* Makes t a disarmed timer. Call once before its first add; any time a
 * timer is not armed it may be freed or reused. */
void ax__timer_init(struct timer *t);

/* True if t is on a wheel: added and neither expired nor cancelled. */
bool ax__timer_is_armed(const struct timer *t);

/* Makes *w an empty wheel whose time is now_ms. The caller owns the
 * storage (about 5.8 KB). */
void ax__wheel_init(struct wheel *w, uint64_t now_ms);

/*
 * Disarms every timer still on w, without firing it, and leaves w unusable
 * until ax__wheel_init(). The wheel owns neither timers nor memory, so
 * nothing is freed; the timers must still be valid (a timer is cancelled
 * before its storage is freed, always).
 */
void ax__wheel_destroy(struct wheel *w);

/*
 * Arms t to expire at deadline_ms. O(1), no allocation. t must have been
 * initialised and must not be armed (cancel it first to move it). A
 * deadline at or before the wheel's time expires at the next advance,
 * whatever time that advance is given.
 */
void ax__wheel_add(struct wheel *w, struct timer *t, uint64_t deadline_ms);

/* Disarms t if it is armed on w; a no-op if it is not armed. O(1). */
void ax__wheel_cancel(struct wheel *w, struct timer *t);

/*
 * Moves the wheel's time to now_ms (a now_ms before the wheel's time
 * counts as the wheel's time: the clock never goes back) and returns how
 * many timers expired: those with deadline <= now_ms. *expired receives
 * them as a NULL-terminated list linked through `next`, in non-decreasing
 * deadline order (ties in no particular order), every one already
 * disarmed and counted out: the caller fires them one by one and may
 * re-add or free each, after reading its `next`. *expired is NULL when
 * none expired. Each timer expires at the first advance whose now_ms is
 * at or after its deadline, never earlier. The work is proportional to
 * the occupied slots passed and the timers in them, not to the time
 * elapsed (a timer moves down at most AX_WHEEL_LEVELS - 1 times), plus
 * k log k to sort the k timers that were added already due.
 */
size_t ax__wheel_advance(struct wheel *w, uint64_t now_ms,
                         struct timer **expired);

/*
 * When an idle scheduler should next advance: UINT64_MAX if no timer is
 * armed; otherwise a time never later than the earliest armed deadline.
 * If a timer was added already due, it is at or before the wheel's time
 * (so: do not sleep). Otherwise it is the start of the slot holding the
 * earliest timer, which is later than the wheel's time and is that
 * timer's exact deadline when the deadline lies in the wheel's current
 * 64 ms block (deadline >> 6 == now >> 6, where the first level is); for
 * a later deadline it is the start of the 64^l ms span (l >= 1) holding
 * it. Advancing to that time moves the timer down a level, so a scheduler
 * that sleeps until this value and advances wakes at most
 * AX_WHEEL_LEVELS - 1 times early per expiry. O(1).
 */
uint64_t ax__wheel_next_deadline(const struct wheel *w);

/* The number of armed timers on w. */
size_t ax__wheel_count(const struct wheel *w);

#endif /* AX_SCHED_TIMER_H */
