/*
 * ctx.h - machine contexts: what a suspended computation needs to go on
 * (its callee-saved registers and stack pointer), and the switch from the
 * running one to another: the few instructions under every blocking call
 * of a process.
 *
 * A context is either a thread's own (ax__ctx_init_thread) or one made on
 * a stack by ax__ctx_init, whose entry function starts at the first switch
 * to it and never returns. At any moment a context is running on exactly
 * one thread or suspended; only a suspended context may be switched to,
 * and only from the context running on the calling thread. A suspended
 * context may be resumed on another thread than the one it last ran on
 * (a stolen process): nothing here is per thread, but code running in a
 * context must not keep the address of a thread-local variable across a
 * switch.
 *
 * A switch saves only what the ABI says a call preserves: on x86-64 rbx,
 * rbp, r12-r15, rsp, MXCSR and the x87 control word; on aarch64 x19-x30,
 * sp, d8-d15 and fpcr. The registers go on the suspended context's own
 * stack, so the struct holds only the stack pointer. Other machines use
 * swapcontext, which makes a syscall each switch (about 425 ns here):
 * correct, not fast. To try that fallback on x86-64, define
 * AX_CTX_UCONTEXT, e.g. `make BUILD=build/uc CFLAGS="-O2 -g
 * -DAX_CTX_UCONTEXT"`.
 *
 * Under AddressSanitizer and ThreadSanitizer every switch tells the
 * sanitizer which stack (ASan) or fiber (TSan) runs next; the fields that
 * needs exist only in those builds.
 */
#ifndef AX_PROC_CTX_H
#define AX_PROC_CTX_H

#include <stdbool.h>
#include <stddef.h>

#if !defined(__x86_64__) && !defined(__aarch64__) && !defined(AX_CTX_UCONTEXT)
#define AX_CTX_UCONTEXT 1
#endif

#if defined(__SANITIZE_ADDRESS__)
#define AX_CTX_ASAN 1
#elif defined(__SANITIZE_THREAD__)
#define AX_CTX_TSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AX_CTX_ASAN 1
#elif __has_feature(thread_sanitizer)
#define AX_CTX_TSAN 1
#endif
#endif

#ifdef AX_CTX_UCONTEXT
#include <ucontext.h>
#endif

struct ctx {
#ifdef AX_CTX_UCONTEXT
    ucontext_t uc;
    void (*entry)(void *arg); /* until the first switch to it */
    void *arg;
#else
    void *sp; /* while suspended; the registers are saved just above it */
#endif
#ifdef AX_CTX_ASAN
    const void *san_lo; /* its stack; a thread's is learnt on leaving */
    size_t san_size;
    struct ctx *san_prev; /* the context that last switched to this one */
    bool san_thread;      /* a thread's own context */
#endif
#ifdef AX_CTX_TSAN
    void *san_fiber;
    bool san_thread; /* san_fiber is the thread's; not ours to free */
#endif
};

/* The least stack ax__ctx_init accepts: its first frame and a margin. */
#define AX_CTX_MIN_STACK 1024

/*
 * Makes c a suspended context that, when first switched to, calls
 * entry(arg) on the stack [stack_lo, stack_lo + size), which grows down
 * from its top, with the stack aligned as the ABI wants after a call.
 * entry must never return: it leaves by ax__ctx_exit, or stays suspended
 * until its context is destroyed; if it returns, the runtime aborts with
 * an assertion failure. The caller owns c and the stack, and keeps both
 * until ax__ctx_destroy(c); size must be at least AX_CTX_MIN_STACK. No
 * allocation (except a fiber under TSan), no syscall. Any thread.
 */
void ax__ctx_init(struct ctx *c, void *stack_lo, size_t size,
                  void (*entry)(void *arg), void *arg);

/*
 * Makes c stand for the calling thread's own context (the one running
 * now, on the thread's stack), so that the thread can switch away from it
 * and be switched back to. No allocation, no syscall.
 */
void ax__ctx_init_thread(struct ctx *c);

/*
 * Releases what the sanitizers keep for c (under ASan the poisoning left
 * on its stack, under TSan its fiber); a no-op in other builds. c must be
 * suspended and will not run again; call it before c's stack is reused or
 * unmapped. Accepts NULL. Any thread.
 */
void ax__ctx_destroy(struct ctx *c);

/*
 * Saves the running context into from and resumes to, which must be
 * suspended (and must not be from). Returns when some thread switches back
 * to from. The calling thread must be running from. No syscall (except in
 * the swapcontext fallback), no allocation, no lock.
 */
void ax__ctx_switch(struct ctx *from, struct ctx *to);

/*
 * Resumes to for good: self (the running context) is abandoned and never
 * resumed, so its stack may be reused once to runs (after
 * ax__ctx_destroy(self)). The same rules as ax__ctx_switch otherwise.
 */
_Noreturn void ax__ctx_exit(struct ctx *self, struct ctx *to);

#endif /* AX_PROC_CTX_H */
