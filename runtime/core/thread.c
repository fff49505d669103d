/*
 * thread.c - naming the node's threads (thread.h).
 */
#include "thread.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

void ax__name_thread(pthread_t t, const char *fmt, ...)
{
    char name[16]; /* the kernel's TASK_COMM_LEN */
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    (void)pthread_setname_np(t, name); /* a name, no more */
}
