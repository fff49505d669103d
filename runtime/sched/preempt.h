/*
 * preempt.h - preempting runaway code. A watchdog thread notices a
 * scheduler whose current slice has run past the slice time (default
 * 10 ms) and sends that thread SIGURG. The handler looks at what was
 * interrupted:
 *
 *   - an instruction in a loaded module's code, on the process's own
 *     stack, with no runtime section open on the thread: the process is
 *     preempted right there. The handler makes the context call a
 *     trampoline that saves every register (and the vector state), and
 *     switches the process out (OUT_PREEMPT); when it is resumed the
 *     trampoline handles its signals (so a kill takes effect), restores
 *     everything and returns to the interrupted instruction.
 *   - anything else (libc, the runtime, a program's own functions): the
 *     process's reduction budget is zeroed, so it yields at its next safe
 *     point, the next time the runtime charges it (a send, an allocation,
 *     a receive...). And the thread signals itself again RETRY_US later
 *     (a timer of its own), up to RETRY_MAX times after each of the
 *     watchdog's signals: a loop that calls into libc and returns to its
 *     module's code is preempted there once a signal lands there, which
 *     for a loop nearly always in libc takes many signals. Not after a
 *     system call, where a thread that blocks would be interrupted for
 *     nothing.
 *
 * A preempted process waits on its scheduler's preempted list, not the
 * run queue: it is not stolen by another scheduler (compiled code may
 * keep thread-local addresses, such as errno's, across the interrupted
 * instruction), and it runs again once the others have had a slice time
 * of their own, or when nothing else is ready.
 */
#ifndef AX_SCHED_PREEMPT_H
#define AX_SCHED_PREEMPT_H

#include <stdint.h>

#include "../core/tls.h"

#define PREEMPT_SLICE_MS_DEFAULT 10

/* Installs the handler and starts the watchdog for slices of slice_ms
 * (0: the default, or AX_SLICE_MS from the environment). Node start,
 * after the schedulers. Errors: AX_ENOMEM, AX_EINVAL. */
int ax__preempt_start(unsigned slice_ms);
/* Stops the watchdog (node stop, before the schedulers). */
void ax__preempt_stop(void);
/* The slice time in nanoseconds (valid while the node runs). */
uint64_t ax__preempt_slice_ns(void);

struct sched;
/* Makes scheduler s's retry timer, on its own thread as it starts; and
 * deletes it as it ends. Without one (no timer to be had, or no
 * preemption in module code on this architecture) the watchdog's signals
 * alone retry. */
void ax__preempt_thread_start(struct sched *s);
void ax__preempt_thread_end(struct sched *s);

/* Notes [lo, hi) as module code, which may be preempted anywhere, or
 * forgets it (before the code is unmapped). The loader calls these under
 * its lock. Add fails with AX_ESYSLIMIT if the table is full (the code
 * is then preempted at safe points only). */
int ax__preempt_code_add(uintptr_t lo, uintptr_t hi);
void ax__preempt_code_remove(uintptr_t lo);

/* A scheduler woke from sleep: unpark the watchdog if it sleeps. */
void ax__preempt_woke(void);

/*
 * A section during which module code may run but must not be preempted
 * mid-instruction (dlopen and dlclose run module constructors and
 * destructors holding the dynamic linker's lock). Counted per thread;
 * the handler reads it on the same thread.
 */
extern AX_TLS unsigned ax__preempt_off;

static inline void ax__preempt_disable(void)
{
    ax__preempt_off++;
}

static inline void ax__preempt_enable(void)
{
    ax__preempt_off--;
}

#endif /* AX_SCHED_PREEMPT_H */
