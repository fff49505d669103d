/*
 * thread.h - the names of the node's own threads, as top -H, htop, ps -L,
 * gdb and perf show them: ax-sched-N (the schedulers, from 0),
 * ax-watchdog (preemption), ax-crashlog (the crash log's writer),
 * ax-listen (the control socket), ax-watch (module reloading on change)
 * and ax-compile (a module being built). Listed in ax(1), DESCRIPTION.
 */
#ifndef AX_CORE_THREAD_H
#define AX_CORE_THREAD_H

#include <pthread.h>

/* Names thread t: fmt and its arguments, as printf, cut to the kernel's
 * 15 characters. */
void ax__name_thread(pthread_t t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
