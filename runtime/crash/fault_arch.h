/*
 * fault_arch.h - the machine- and build-specific bits of fault recovery:
 * making a signal's context resume in a function on another stack, and
 * telling AddressSanitizer that a stack is clean again (reading the pc,
 * stack and frame pointers is in sched/preempt_arch.h). One
 * definition per architecture or build, as stubs, so fault.c has no #if
 * in its bodies.
 */
#ifndef AX_CRASH_FAULT_ARCH_H
#define AX_CRASH_FAULT_ARCH_H

#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

#include "../proc/ctx.h"
#include "../sched/preempt_arch.h"

#if defined(AX_CTX_ASAN)
#include <sanitizer/asan_interface.h>

/* The frames an earlier recovery abandoned on [lo, lo + size) left their
 * redzones poisoned. Async-signal-safe: it writes shadow memory only. */
static inline void san_unpoison(void *lo, size_t size)
{
    __asan_unpoison_memory_region(lo, size);
}
#else
static inline void san_unpoison(void *lo, size_t size)
{
    (void)lo;
    (void)size;
}
#endif

#if defined(__x86_64__)
/* Resumes in fn() on the stack whose top is top, as if fn was called. */
static inline void uc_redirect(ucontext_t *uc, void (*fn)(void), void *top)
{
    uintptr_t sp = ((uintptr_t)top & ~(uintptr_t)15) - 8;

    *(uintptr_t *)sp = 0; /* no return address: fn never returns */
    uc->uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
    uc->uc_mcontext.gregs[REG_RBP] = 0;
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)fn;
}
#elif defined(__aarch64__)
static inline void uc_redirect(ucontext_t *uc, void (*fn)(void), void *top)
{
    uc->uc_mcontext.sp = (uintptr_t)top & ~(uintptr_t)15;
    uc->uc_mcontext.regs[29] = 0;
    uc->uc_mcontext.regs[30] = 0;
    uc->uc_mcontext.pc = (uintptr_t)fn;
}
#else
#error "fault recovery needs uc_redirect here"
#endif

#endif /* AX_CRASH_FAULT_ARCH_H */
