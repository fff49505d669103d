/*
 * fault_arch.h - the machine-specific bits of fault recovery: reading the
 * faulting pc and the stack pointer from a signal's ucontext, and making
 * the context resume in a function on another stack. One definition per
 * architecture, as stubs, so fault.c has no #if in its bodies.
 */
#ifndef AX_CRASH_FAULT_ARCH_H
#define AX_CRASH_FAULT_ARCH_H

#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

#if defined(__x86_64__)
static inline uintptr_t uc_pc(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
}

static inline uintptr_t uc_sp(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
}

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
static inline uintptr_t uc_pc(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.pc;
}

static inline uintptr_t uc_sp(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.sp;
}

static inline void uc_redirect(ucontext_t *uc, void (*fn)(void), void *top)
{
    uc->uc_mcontext.sp = (uintptr_t)top & ~(uintptr_t)15;
    uc->uc_mcontext.regs[29] = 0;
    uc->uc_mcontext.regs[30] = 0;
    uc->uc_mcontext.pc = (uintptr_t)fn;
}
#else
#error "fault recovery needs uc_pc, uc_sp and uc_redirect for this machine"
#endif

#endif /* AX_CRASH_FAULT_ARCH_H */
