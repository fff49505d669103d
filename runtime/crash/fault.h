/*
 * fault.h - native faults in processes: SIGSEGV, SIGBUS, SIGFPE, SIGILL
 * and SIGABRT raised while a process runs end that process, not the node.
 *
 * The handler runs on the scheduler thread's alternate signal stack and
 * does only async-signal-safe work: it notes what happened and rewrites
 * the interrupted context so that, when the handler returns, the thread
 * continues in a recovery function on a spare stack of its own, in
 * ordinary thread context. There the process exits as from ax_exit, with
 * reason stack_overflow (a fault on its stack's guard page) or {signal,
 * Name, Address} / {signal, Name}; its own stack is abandoned and goes
 * back to the pool. A fault outside any process, or while recovering
 * from one, is fatal: the default action runs (a core dump).
 */
#ifndef AX_CRASH_FAULT_H
#define AX_CRASH_FAULT_H

#include "../sched/sched.h"

/* Installs the handlers, once per program. Errors: AX_EINVAL if sigaction
 * fails. Not thread-safe: from ax_node_start. */
int ax__fault_init(void);

/* On each scheduler thread, as it starts (maps the alternate and the
 * recovery stacks) and as it ends (unmaps them). */
void ax__fault_thread(struct sched *s, bool starting);

#endif /* AX_CRASH_FAULT_H */
