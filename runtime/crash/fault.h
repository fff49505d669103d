/*
 * fault.h - native faults in processes: SIGSEGV, SIGBUS, SIGFPE, SIGILL
 * and SIGABRT raised while a process runs end that process, not the node.
 *
 * The handler runs on the scheduler thread's alternate signal stack and
 * does only async-signal-safe work: it notes what happened, walks the
 * process's frame-pointer chain for the program counters of a backtrace,
 * and rewrites the interrupted context so that, when the handler
 * returns, the thread continues in a recovery function on a spare stack
 * of its own, in ordinary thread context. There the backtrace is
 * symbolised (backtrace.h) and the process exits as from ax_exit, with
 * reason stack_overflow (a fault on its stack's guard page) or {signal,
 * Name, Address} / {signal, Name}; its own stack is abandoned and goes
 * back to the pool.
 *
 * A fault outside any process (in the runtime, or in a thread that is
 * not a scheduler), or while recovering from one, is fatal: the handler
 * says so on stderr, writes a crash dump (dump.h), and the signal's
 * default action ends the program (a core dump, where enabled). A fault
 * inside libdw while a backtrace is symbolised is not fatal: recovery
 * starts over with raw addresses.
 *
 * Recovery runs ordinary code (malloc, locks) on the thread that faulted:
 * a process that faults while holding a lock the exit path needs (the
 * allocator's, inside malloc) deadlocks its scheduler. C code must not
 * hold locks across code that may fault.
 */
#ifndef AX_CRASH_FAULT_H
#define AX_CRASH_FAULT_H

#include "../sched/sched.h"
#include "backtrace.h"
#include "dump.h"

/* Installs the handlers, once per program, and fixes the crash dump's
 * path (the default unless ax__fault_set_dump_path chose one). Errors:
 * AX_EINVAL if sigaction fails. Not thread-safe: from ax_node_start. */
int ax__fault_init(void);

/* On each scheduler thread, as it starts (maps the alternate and the
 * recovery stacks, notes the thread's stack) and as it ends (unmaps
 * them, frees its last backtrace). */
void ax__fault_thread(struct sched *s, bool starting);

/*
 * The symbolised backtrace (backtrace.h's format) of the fault that the
 * running process is exiting from, or NULL when its exit is not a fault.
 * Owned by the runtime, valid until that process has exited: for the
 * exit hook, which runs inside the exit that recovery starts. The
 * faulting process's own thread only.
 */
const char *ax__fault_backtrace(void);

#endif /* AX_CRASH_FAULT_H */
