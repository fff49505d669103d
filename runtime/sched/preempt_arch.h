/*
 * preempt_arch.h - the machine-specific bits of reading and changing an
 * interrupted context, shared by preemption (preempt.c) and fault
 * recovery (crash/fault.c): the pc, stack pointer and frame pointer of a
 * signal's ucontext, and making the context call a function on its own
 * stack at the point where it was interrupted.
 *
 * uc_inject_call exists where the asynchronous preemption trampoline
 * does (x86-64): elsewhere preempt_can_inject() is false and a runaway
 * process is preempted at its next safe point only.
 */
#ifndef AX_SCHED_PREEMPT_ARCH_H
#define AX_SCHED_PREEMPT_ARCH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <ucontext.h>

#if defined(__x86_64__)
#include <cpuid.h>

static inline uintptr_t uc_pc(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
}

static inline uintptr_t uc_sp(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
}

static inline uintptr_t uc_fp(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
}

/* Whether the context was interrupted in a system call: its pc is at the
 * `syscall` instruction (to restart it) or just after it. Code is read
 * only within pc's page, which is mapped. */
static inline bool uc_after_syscall(const ucontext_t *uc)
{
    const uint8_t *pc = (const uint8_t *)uc_pc(uc);
    uintptr_t off = (uintptr_t)pc % 4096;

    return (off <= 4094 && pc[0] == 0x0f && pc[1] == 0x05) ||
           (off >= 2 && pc[-2] == 0x0f && pc[-1] == 0x05);
}

/* The System V ABI lets a function use 128 bytes below its stack
 * pointer without moving it: an injected call must skip them. */
#define PREEMPT_RED_ZONE 128

static inline bool preempt_can_inject(void)
{
    return true;
}

/*
 * Makes the interrupted context, once the handler returns, enter fn as
 * if the interrupted instruction had called it: the return address (the
 * interrupted pc) is pushed below the red zone. fn must save every
 * register and return with `ret $PREEMPT_RED_ZONE`. `store` writes one
 * word of the process stack (the caller's, so that it can be exempt from
 * sanitizer checks).
 */
static inline void uc_inject_call(ucontext_t *uc, void (*fn)(void),
                                  void (*store)(uintptr_t at, uintptr_t v))
{
    uintptr_t sp = uc_sp(uc) - PREEMPT_RED_ZONE - sizeof(uintptr_t);

    store(sp, uc_pc(uc));
    uc->uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)fn;
}

/*
 * How many bytes the trampoline needs to save the vector and x87 state
 * (XSAVE's area for the features the kernel enabled, or FXSAVE's), and
 * whether XSAVE is usable. At least 576: the trampoline clears XSAVE's
 * 64-byte header, after the 512-byte legacy area, whichever it uses.
 */
static inline size_t preempt_fpu_area(bool *xsave)
{
    unsigned a, b, c, d;
    size_t size = 576;

    *xsave = false;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE) &&
        __get_cpuid_count(0xd, 0, &a, &b, &c, &d) && b >= 576) {
        *xsave = true;
        size = b;
    }
    return size;
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

static inline uintptr_t uc_fp(const ucontext_t *uc)
{
    return (uintptr_t)uc->uc_mcontext.regs[29];
}

/* As on x86-64, with `svc #0`. */
static inline bool uc_after_syscall(const ucontext_t *uc)
{
    const uint32_t *pc = (const uint32_t *)uc_pc(uc);

    return pc[0] == 0xd4000001 ||
           ((uintptr_t)pc % 4096 >= 4 && pc[-1] == 0xd4000001);
}

/* No trampoline here yet: it would need a register to branch back
 * through, and AAPCS64 reserves none. */
static inline bool preempt_can_inject(void)
{
    return false;
}

static inline void uc_inject_call(ucontext_t *uc, void (*fn)(void),
                                  void (*store)(uintptr_t at, uintptr_t v))
{
    (void)uc;
    (void)fn;
    (void)store;
}

static inline size_t preempt_fpu_area(bool *xsave)
{
    *xsave = false;
    return 0;
}
#else
#error "preemption and fault recovery need uc_pc, uc_sp and uc_fp here"
#endif

#endif /* AX_SCHED_PREEMPT_ARCH_H */
