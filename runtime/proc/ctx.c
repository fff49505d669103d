/*
 * ctx.c - context switching (ctx.h): the switch itself, in assembly for
 * x86-64 and aarch64 or through swapcontext elsewhere, and the sanitizer
 * hooks around it.
 *
 * In the assembly versions a suspended context's stack holds, at its
 * saved stack pointer, the frame ax__ctx_jump pushed: the callee-saved
 * registers and the floating-point control state, then the return
 * address. A new context gets a forged frame of the same shape whose
 * return address is ax__ctx_start and whose registers carry boot(), the
 * context, entry and arg; everything else in it is zero, so the frame
 * pointer chain of a backtrace ends there. The first switch to it thus
 * "returns" into ax__ctx_start, which calls boot(c, entry, arg) with the
 * stack aligned as after any call, and boot never returns.
 */
#include "ctx.h"

#include <stdint.h>
#include <string.h>

#include "../core/assert.h"

/*
 * The sanitizer hooks, one set per build: san_init and san_init_thread
 * when a context is made, san_destroy when it is released, san_start just
 * before a switch (it returns what san_finish needs), san_finish first
 * thing after one, san_leave before the last switch out of a context.
 * They must be inlined: under TSan an instrumented function that returns
 * after the switch of fibers but before the switch of stacks would pop
 * the wrong fiber's shadow call stack.
 */
#define SAN_INLINE static inline __attribute__((always_inline))

#if defined(AX_CTX_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>

SAN_INLINE void san_init(struct ctx *c, const void *lo, size_t size)
{
    c->san_lo = lo;
    c->san_size = size;
    c->san_prev = NULL;
    c->san_thread = false;
}

SAN_INLINE void san_init_thread(struct ctx *c)
{
    c->san_lo = NULL;
    c->san_size = 0;
    c->san_prev = NULL;
    c->san_thread = true;
}

/* Frames abandoned on the stack leave their redzones poisoned. */
SAN_INLINE void san_destroy(struct ctx *c)
{
    if (!c->san_thread)
        __asan_unpoison_memory_region(c->san_lo, c->san_size);
}

/* Returns the running context's fake stack (use-after-return mode). */
SAN_INLINE void *san_start(struct ctx *from, struct ctx *to)
{
    void *fake;

    to->san_prev = from;
    __sanitizer_start_switch_fiber(&fake, to->san_lo, to->san_size);
    return fake;
}

/* ASan reports the stack we came from: how a thread's is learnt. */
SAN_INLINE void san_finish(struct ctx *self, void *fake)
{
    struct ctx *prev = self->san_prev;

    __sanitizer_finish_switch_fiber(fake, &prev->san_lo, &prev->san_size);
}

/* A NULL save slot tells ASan to free the leaving context's fake stack. */
SAN_INLINE void san_leave(struct ctx *self, struct ctx *to)
{
    to->san_prev = self;
    __sanitizer_start_switch_fiber(NULL, to->san_lo, to->san_size);
}
#elif defined(AX_CTX_TSAN)
#include <sanitizer/tsan_interface.h>

SAN_INLINE void san_init(struct ctx *c, const void *lo, size_t size)
{
    (void)lo;
    (void)size;
    c->san_fiber = __tsan_create_fiber(0);
    c->san_thread = false;
}

SAN_INLINE void san_init_thread(struct ctx *c)
{
    c->san_fiber = __tsan_get_current_fiber();
    c->san_thread = true;
}

SAN_INLINE void san_destroy(struct ctx *c)
{
    if (!c->san_thread)
        __tsan_destroy_fiber(c->san_fiber);
}

/* Flags 0: the switch orders what the two contexts do, as it should. */
SAN_INLINE void *san_start(struct ctx *from, struct ctx *to)
{
    (void)from;
    __tsan_switch_to_fiber(to->san_fiber, 0);
    return NULL;
}

SAN_INLINE void san_finish(struct ctx *self, void *fake)
{
    (void)self;
    (void)fake;
}

SAN_INLINE void san_leave(struct ctx *self, struct ctx *to)
{
    (void)self;
    __tsan_switch_to_fiber(to->san_fiber, 0);
}
#else
SAN_INLINE void san_init(struct ctx *c, const void *lo, size_t size)
{
    (void)c;
    (void)lo;
    (void)size;
}

SAN_INLINE void san_init_thread(struct ctx *c)
{
    (void)c;
}

SAN_INLINE void san_destroy(struct ctx *c)
{
    (void)c;
}

SAN_INLINE void *san_start(struct ctx *from, struct ctx *to)
{
    (void)from;
    (void)to;
    return NULL;
}

SAN_INLINE void san_finish(struct ctx *self, void *fake)
{
    (void)self;
    (void)fake;
}

SAN_INLINE void san_leave(struct ctx *self, struct ctx *to)
{
    (void)self;
    (void)to;
}
#endif

/*
 * The bare switch: saves the running context into from, resumes to.
 * Defined below for each machine, mostly in assembly, hence not static.
 */
__attribute__((visibility("hidden"))) void ax__ctx_jump(struct ctx *from,
                                                        struct ctx *to);

/* The bottom frame of every context made by ax__ctx_init. */
static _Noreturn void boot(struct ctx *self, void (*entry)(void *), void *arg)
{
    san_finish(self, NULL);
    entry(arg);
    ax__assert_fail("a context's entry function returned", __FILE__, __LINE__,
                    __func__);
}

#if defined(AX_CTX_UCONTEXT)
/* makecontext passes only int arguments: the context comes in halves. */
static void uc_boot(unsigned hi, unsigned lo)
{
    struct ctx *c = (struct ctx *)(uintptr_t)((uint64_t)hi << 32 | lo);

    boot(c, c->entry, c->arg);
}

static void prepare(struct ctx *c, char *lo, size_t size, void (*entry)(void *),
                    void *arg)
{
    uint64_t p = (uintptr_t)c;
    int rc = getcontext(&c->uc);

    ax_assert(rc == 0);
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    c->entry = entry;
    c->arg = arg;
    makecontext(&c->uc, (void (*)(void))uc_boot, 2, (unsigned)(p >> 32),
                (unsigned)p);
}

void ax__ctx_jump(struct ctx *from, struct ctx *to)
{
    int rc = swapcontext(&from->uc, &to->uc);

    ax_assert(rc == 0);
}
#else
/* The first instructions of a new context; see the top of this file. */
__attribute__((visibility("hidden"))) void ax__ctx_start(void);

#if defined(__x86_64__)
/*
 * The frame at a suspended context's sp, in words: MXCSR in the low half
 * of the first and the x87 control word above it, then r15 to rbx and
 * rbp as pushed, then the return address. ax__ctx_start finds boot in
 * rbx, the context in r12, entry in r13 and arg in r14.
 *
 * Measured choices (a switch costs 10 ns here instead of 40 or worse):
 * - MXCSR and the x87 control word are loaded only when the resumed
 *   context's differ from the running one's, and only MXCSR's control
 *   bits count (its six status flags are not preserved across a call):
 *   an ldmxcsr that changes the register costs about 100 ns on this VM.
 * - Each is read back with a load of its own size; one wide load over
 *   the two narrow stores would stall store forwarding.
 * - The return address is popped and jumped to: a ret into another
 *   context's caller always mispredicts. (The return predictor is then
 *   one entry off, so the resumed context's next ret pays instead.)
 */
enum {
    F_FPU = 0,
    F_ARG = 2,
    F_ENTRY = 3,
    F_SELF = 4,
    F_BOOT = 5,
    F_RET = 7,
    F_WORDS = 8
};

/* The ABI's initial state: exceptions masked, round to nearest, and
 * extended precision for x87. */
#define FPU_INIT (0x1f80u | (uint64_t)0x037f << 32)

__asm__("    .pushsection .text\n"
        "    .globl ax__ctx_jump\n"
        "    .hidden ax__ctx_jump\n"
        "    .type ax__ctx_jump, @function\n"
        "    .p2align 4\n"
        "ax__ctx_jump:\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $8, %rsp\n"
        "    stmxcsr (%rsp)\n"
        "    fnstcw 4(%rsp)\n"
        "    movl (%rsp), %eax\n"
        "    movzwl 4(%rsp), %edx\n"
        "    movq %rsp, (%rdi)\n"
        "    movq (%rsi), %rsp\n"
        "    xorl (%rsp), %eax\n"
        "    testl $-64, %eax\n"
        "    jnz 2f\n"
        "    cmpw 4(%rsp), %dx\n"
        "    jne 2f\n"
        "1:  addq $8, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    popq %rcx\n"
        "    jmp *%rcx\n"
        "2:  ldmxcsr (%rsp)\n"
        "    fldcw 4(%rsp)\n"
        "    jmp 1b\n"
        "    .size ax__ctx_jump, .-ax__ctx_jump\n"
        "\n"
        "    .globl ax__ctx_start\n"
        "    .hidden ax__ctx_start\n"
        "    .type ax__ctx_start, @function\n"
        "    .p2align 4\n"
        "ax__ctx_start:\n"
        "    .cfi_startproc\n"
        "    .cfi_undefined rip\n"
        "    movq %r12, %rdi\n"
        "    movq %r13, %rsi\n"
        "    movq %r14, %rdx\n"
        "    call *%rbx\n"
        "    ud2\n"
        "    .cfi_endproc\n"
        "    .size ax__ctx_start, .-ax__ctx_start\n"
        "    .popsection\n");
#elif defined(__aarch64__)
/*
 * The frame at a suspended context's sp, in words: x19 to x30 (x29 the
 * frame pointer, x30 the return address), d8 to d15, fpcr and a pad to
 * keep sp 16-byte aligned. ax__ctx_start finds boot in x19, the context
 * in x20, entry in x21 and arg in x22. As on x86-64, fpcr is written only
 * when it changes; the return is a ret, which BTI allows anywhere.
 */
enum {
    F_BOOT = 0,
    F_SELF = 1,
    F_ENTRY = 2,
    F_ARG = 3,
    F_RET = 11,
    F_FPU = 20,
    F_WORDS = 22
};

/* The ABI's initial fpcr: round to nearest, no traps. */
#define FPU_INIT 0

__asm__("    .pushsection .text\n"
        "    .globl ax__ctx_jump\n"
        "    .hidden ax__ctx_jump\n"
        "    .type ax__ctx_jump, %function\n"
        "    .p2align 4\n"
        "ax__ctx_jump:\n"
        "    sub sp, sp, #176\n"
        "    stp x19, x20, [sp, #0]\n"
        "    stp x21, x22, [sp, #16]\n"
        "    stp x23, x24, [sp, #32]\n"
        "    stp x25, x26, [sp, #48]\n"
        "    stp x27, x28, [sp, #64]\n"
        "    stp x29, x30, [sp, #80]\n"
        "    stp d8, d9, [sp, #96]\n"
        "    stp d10, d11, [sp, #112]\n"
        "    stp d12, d13, [sp, #128]\n"
        "    stp d14, d15, [sp, #144]\n"
        "    mrs x9, fpcr\n"
        "    str x9, [sp, #160]\n"
        "    mov x10, sp\n"
        "    str x10, [x0]\n"
        "    ldr x10, [x1]\n"
        "    mov sp, x10\n"
        "    ldr x10, [sp, #160]\n"
        "    cmp x9, x10\n"
        "    b.eq 1f\n"
        "    msr fpcr, x10\n"
        "1:  ldp x19, x20, [sp, #0]\n"
        "    ldp x21, x22, [sp, #16]\n"
        "    ldp x23, x24, [sp, #32]\n"
        "    ldp x25, x26, [sp, #48]\n"
        "    ldp x27, x28, [sp, #64]\n"
        "    ldp x29, x30, [sp, #80]\n"
        "    ldp d8, d9, [sp, #96]\n"
        "    ldp d10, d11, [sp, #112]\n"
        "    ldp d12, d13, [sp, #128]\n"
        "    ldp d14, d15, [sp, #144]\n"
        "    add sp, sp, #176\n"
        "    ret\n"
        "    .size ax__ctx_jump, .-ax__ctx_jump\n"
        "\n"
        "    .globl ax__ctx_start\n"
        "    .hidden ax__ctx_start\n"
        "    .type ax__ctx_start, %function\n"
        "    .p2align 4\n"
        "ax__ctx_start:\n"
        "    .cfi_startproc\n"
        "    .cfi_undefined x30\n"
        "    mov x0, x20\n"
        "    mov x1, x21\n"
        "    mov x2, x22\n"
        "    blr x19\n"
        "    brk #1\n"
        "    .cfi_endproc\n"
        "    .size ax__ctx_start, .-ax__ctx_start\n"
        "    .popsection\n");
#endif

_Static_assert(offsetof(struct ctx, sp) == 0, "the assembly loads c->sp");

static void prepare(struct ctx *c, char *lo, size_t size, void (*entry)(void *),
                    void *arg)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
    uint64_t *f = (uint64_t *)top - F_WORDS;

    memset(f, 0, F_WORDS * sizeof(*f));
    f[F_FPU] = FPU_INIT;
    f[F_ARG] = (uintptr_t)arg;
    f[F_ENTRY] = (uintptr_t)entry;
    f[F_SELF] = (uintptr_t)c;
    f[F_BOOT] = (uintptr_t)boot;
    f[F_RET] = (uintptr_t)ax__ctx_start;
    c->sp = f;
}
#endif

void ax__ctx_init(struct ctx *c, void *stack_lo, size_t size,
                  void (*entry)(void *arg), void *arg)
{
    ax_assert(stack_lo != NULL && size >= AX_CTX_MIN_STACK);
    prepare(c, stack_lo, size, entry, arg);
    san_init(c, stack_lo, size);
}

void ax__ctx_init_thread(struct ctx *c)
{
    memset(c, 0, sizeof(*c));
    san_init_thread(c);
}

void ax__ctx_destroy(struct ctx *c)
{
    if (c)
        san_destroy(c);
}

void ax__ctx_switch(struct ctx *from, struct ctx *to)
{
    void *fake = san_start(from, to);

    ax__ctx_jump(from, to);
    san_finish(from, fake);
}

_Noreturn void ax__ctx_exit(struct ctx *self, struct ctx *to)
{
    san_leave(self, to);
    ax__ctx_jump(self, to);
    ax_unreachable();
}
