/*
 * thread.h - the names of the node's own threads, as top -H, htop, ps -L,
 * gdb and perf show them: ax-sched-N (the schedulers, from 0),
 * ax-watchdog (preemption), ax-crashlog (the crash log's writer),
 * ax-listen (the control socket), ax-watch (module reloading on change)
 * and ax-compile (a module being built). Listed in ax(1), DESCRIPTION.
 */
#ifndef AX_CORE_THREAD_H
#define AX_CORE_THREAD_H

/* Names the calling thread: fmt and its arguments, as printf, cut to the
 * kernel's 15 characters. */
void ax__name_thread(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
