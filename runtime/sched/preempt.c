/*
 * preempt.c - the watchdog, the SIGURG handler and the trampoline that
 * preempt runaway code (preempt.h).
 *
 * The watchdog reads each scheduler's slice number: odd while a process
 * runs, bumped at each start and end of a slice, by that scheduler only.
 * A number seen unchanged for a slice time is a slice that ran too long;
 * the watchdog names it in preempt_slice and signals the thread, again
 * every slice time while the slice lasts (a signal that lands in libc
 * only zeroes the budget, and the next may land in module code: the
 * thread's own timer sends it RETRY_US later, up to RETRY_MAX times after
 * each of the watchdog's, unless it was in a system call). The
 * handler acts only if the slice it interrupted is the one named, so a
 * late signal never preempts the slice after. The hot path pays two
 * plain stores a slice; the watchdog parks while every scheduler sleeps.
 *
 * The handler is async-signal-safe: it reads thread-local state, the
 * running process's stack bounds and the table of module code ranges
 * (lock-free), and writes one word below the interrupted stack pointer.
 * It runs on the thread's alternate signal stack (fault.c sets one up on
 * every scheduler thread); without one it never injects.
 */
#include "preempt.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/alloc.h"
#include "../core/thread.h"
#include "preempt_arch.h"
#include "sched.h"

#define CODE_RANGES 1024        /* module versions with code mapped */
#define INJECT_HEADROOM 16384   /* stack the preempted path needs, beyond
                                 * the vector state */
#define PARKED_NAP_NS 1000000000ull /* a parked watchdog's safety net */
#define RETRY_US 50   /* a signal that found libc or the runtime, again */
#define RETRY_MAX 100 /* times, after each of the watchdog's signals */

struct code_range {
    _Atomic(uintptr_t) lo;      /* 0: a free slot */
    _Atomic(uintptr_t) hi;
};

static struct code_range ranges[CODE_RANGES];
static _Atomic(unsigned) ranges_used; /* slots ever used: the scan's end */
static pthread_mutex_t ranges_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
    pthread_t thread;
    bool running;
    bool stop;                  /* under lock */
    _Atomic(bool) parked;       /* see ax__preempt_woke */
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* on CLOCK_MONOTONIC */
    uint64_t slice_ns;
    uint64_t period_ns;
    uint64_t *seen;             /* per scheduler: the slice last seen */
    uint64_t *since;            /* when it was first seen */
    uint64_t *sent;             /* when it was last signalled, or 0 */
} wd = {.lock = PTHREAD_MUTEX_INITIALIZER};

AX_TLS unsigned ax__preempt_off;

/* Read by the trampoline: the bytes its FPU save area needs, and whether
 * it saves with XSAVE (else FXSAVE). Set before any scheduler starts. */
extern uint64_t ax__preempt_fpu_size;
extern uint8_t ax__preempt_xsave;
uint64_t ax__preempt_fpu_size = 576;
uint8_t ax__preempt_xsave;

/* --- Module code ----------------------------------------------------------- */

int ax__preempt_code_add(uintptr_t lo, uintptr_t hi)
{
    unsigned used;
    int err = AX_ESYSLIMIT;

    pthread_mutex_lock(&ranges_lock);
    used = atomic_load_explicit(&ranges_used, memory_order_relaxed);
    for (unsigned i = 0; i < CODE_RANGES; i++) {
        if (atomic_load_explicit(&ranges[i].lo, memory_order_relaxed))
            continue;
        /* hi before lo (release): a reader that sees lo sees its hi. */
        atomic_store_explicit(&ranges[i].hi, hi, memory_order_relaxed);
        atomic_store_explicit(&ranges[i].lo, lo, memory_order_release);
        if (i >= used)
            atomic_store_explicit(&ranges_used, i + 1, memory_order_release);
        err = 0;
        break;
    }
    pthread_mutex_unlock(&ranges_lock);
    return err;
}

void ax__preempt_code_remove(uintptr_t lo)
{
    unsigned used = atomic_load_explicit(&ranges_used, memory_order_relaxed);

    pthread_mutex_lock(&ranges_lock);
    for (unsigned i = 0; i < used; i++)
        if (atomic_load_explicit(&ranges[i].lo, memory_order_relaxed) == lo)
            atomic_store_explicit(&ranges[i].lo, 0, memory_order_relaxed);
    pthread_mutex_unlock(&ranges_lock);
}

static bool in_module_code(uintptr_t pc)
{
    unsigned used = atomic_load_explicit(&ranges_used, memory_order_acquire);

    for (unsigned i = 0; i < used; i++) {
        uintptr_t lo = atomic_load_explicit(&ranges[i].lo,
                                            memory_order_acquire);

        if (lo && pc >= lo &&
            pc < atomic_load_explicit(&ranges[i].hi, memory_order_relaxed))
            return true;
    }
    return false;
}

/* --- The trampoline ---------------------------------------------------------- */

void ax__preempt_tramp(void);
void ax__preempt_resume(void);

#if defined(__x86_64__)
/*
 * Entered as if called from the interrupted instruction, with 128 bytes
 * of red zone between its return address and the interrupted stack
 * pointer. Saves what a call may clobber (the callee-saved registers
 * survive ax__preempt_resume by the ABI), the flags and the whole vector
 * and x87 state, with a frame a backtrace can walk; `ret $128` pops the
 * red zone back.
 */
__asm__("    .pushsection .text\n"
        "    .globl ax__preempt_tramp\n"
        "    .hidden ax__preempt_tramp\n"
        "    .type ax__preempt_tramp, @function\n"
        "    .p2align 4\n"
        "ax__preempt_tramp:\n"
        "    pushq %rbp\n"
        "    movq %rsp, %rbp\n"
        "    pushfq\n"
        "    pushq %rax\n"
        "    pushq %rcx\n"
        "    pushq %rdx\n"
        "    pushq %rsi\n"
        "    pushq %rdi\n"
        "    pushq %r8\n"
        "    pushq %r9\n"
        "    pushq %r10\n"
        "    pushq %r11\n"
        "    cld\n"
        "    subq ax__preempt_fpu_size(%rip), %rsp\n"
        "    andq $-64, %rsp\n"
        "    xorl %eax, %eax\n"
        "    movq %rax, 512(%rsp)\n"
        "    movq %rax, 520(%rsp)\n"
        "    movq %rax, 528(%rsp)\n"
        "    movq %rax, 536(%rsp)\n"
        "    movq %rax, 544(%rsp)\n"
        "    movq %rax, 552(%rsp)\n"
        "    movq %rax, 560(%rsp)\n"
        "    movq %rax, 568(%rsp)\n"
        "    cmpb $0, ax__preempt_xsave(%rip)\n"
        "    je 1f\n"
        "    movl $-1, %eax\n"
        "    movl $-1, %edx\n"
        "    xsave64 (%rsp)\n"
        "    jmp 2f\n"
        "1:  fxsave64 (%rsp)\n"
        "2:  call ax__preempt_resume\n"
        "    cmpb $0, ax__preempt_xsave(%rip)\n"
        "    je 3f\n"
        "    movl $-1, %eax\n"
        "    movl $-1, %edx\n"
        "    xrstor64 (%rsp)\n"
        "    jmp 4f\n"
        "3:  fxrstor64 (%rsp)\n"
        "4:  leaq -80(%rbp), %rsp\n"
        "    popq %r11\n"
        "    popq %r10\n"
        "    popq %r9\n"
        "    popq %r8\n"
        "    popq %rdi\n"
        "    popq %rsi\n"
        "    popq %rdx\n"
        "    popq %rcx\n"
        "    popq %rax\n"
        "    popfq\n"
        "    popq %rbp\n"
        "    ret $128\n"
        "    .size ax__preempt_tramp, .-ax__preempt_tramp\n"
        "    .popsection\n");
#else
void ax__preempt_tramp(void)
{
    ax__preempt_resume();
}
#endif

/* Called by the trampoline on the preempted process's stack: switches it
 * out; once resumed, handles what arrived meanwhile (a kill ends it
 * here), and returns to the interrupted code. */
void ax__preempt_resume(void)
{
    struct proc *p = ax__proc_self();

    ax__sched_leave(p, OUT_PREEMPT, true);
    ax__proc_drain(p);
}

/* --- The handler ----------------------------------------------------------- */

/* The one write to the process's stack, below anything live there; what
 * AddressSanitizer knows of that memory is stale. */
__attribute__((no_sanitize_address)) static void store_word(uintptr_t at,
                                                           uintptr_t v)
{
    *(volatile uintptr_t *)at = v;
}

static bool can_inject(const struct proc *p, const ucontext_t *uc)
{
    const struct stack *st = p->stack;
    uintptr_t sp = uc_sp(uc);
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    uintptr_t lo;

    if (!preempt_can_inject() || ax__preempt_off || !st)
        return false;
    lo = (uintptr_t)st->lo;
    if (sp < lo || sp - lo >= st->size ||
        sp - lo < INJECT_HEADROOM + ax__preempt_fpu_size)
        return false;
    if (here >= lo && here - lo < st->size)
        return false; /* no alternate stack: the handler's frame is here */
    return in_module_code(uc_pc(uc));
}

/* Signals the thread of s again RETRY_US from now, if that may help: the
 * signal found it outside module code (in module code it could not
 * inject for want of stack, which a retry does not mend), and not in a
 * system call (a thread blocked there would only be interrupted again). */
static void retry_soon(struct sched *s, const siginfo_t *info,
                       const ucontext_t *uc)
{
    struct itimerspec again = {.it_value = {0, RETRY_US * 1000}};

    if (info->si_code != SI_TIMER)
        s->retries = 0; /* the watchdog's: a new round */
    if (!s->has_retry || s->retries >= RETRY_MAX ||
        in_module_code(uc_pc(uc)) || uc_after_syscall(uc))
        return;
    s->retries++;
    (void)timer_settime(s->retry, 0, &again, NULL); /* async-signal-safe */
}

static void on_sigurg(int sig, siginfo_t *info, void *ctx)
{
    int saved = errno;
    struct sched *s = ax__tls_sched;
    struct proc *p = s ? s->current : NULL;

    (void)sig;
    /* acquire: pairs with the watchdog's release of preempt_slice. */
    if (p && atomic_load_explicit(&s->slice, memory_order_relaxed) ==
                 atomic_load_explicit(&s->preempt_slice,
                                      memory_order_acquire)) {
        if (can_inject(p, ctx)) {
            uc_inject_call(ctx, ax__preempt_tramp, store_word);
        } else {
            p->budget = 0;
            retry_soon(s, info, ctx);
        }
    }
    errno = saved;
}

void ax__preempt_thread_start(struct sched *s)
{
    struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID,
                          .sigev_signo = SIGURG};

    ev._sigev_un._tid = gettid(); /* sigev_notify_thread_id, where defined */
    s->retries = 0;
    s->has_retry = preempt_can_inject() &&
                   timer_create(CLOCK_MONOTONIC, &ev, &s->retry) == 0;
}

void ax__preempt_thread_end(struct sched *s)
{
    if (s->has_retry)
        timer_delete(s->retry);
    s->has_retry = false;
}

/* --- The watchdog ---------------------------------------------------------- */

/* Looks at scheduler i; true if it is running a process. */
static bool watch(unsigned i, uint64_t now)
{
    struct sched *s = &ax__node.scheds[i];
    uint64_t seq = atomic_load_explicit(&s->slice, memory_order_relaxed);

    if (seq != wd.seen[i]) {
        wd.seen[i] = seq;
        wd.since[i] = now;
        wd.sent[i] = 0;
        return seq & 1;
    }
    if (!(seq & 1) || now - wd.since[i] < wd.slice_ns ||
        (wd.sent[i] && now - wd.sent[i] < wd.slice_ns))
        return seq & 1;
    wd.sent[i] = now;
    /* release: the handler that reads this number sees the slice's. */
    atomic_store_explicit(&s->preempt_slice, seq, memory_order_release);
    pthread_kill(s->thread, SIGURG);
    return true;
}

static bool all_asleep(void)
{
    struct node *n = &ax__node;

    /* seq_cst: pairs with the scheduler's decrement and load of parked
     * in ax__preempt_woke; one of the two sees the other. */
    return atomic_load(&n->nsleeping) == n->nscheds;
}

/* Waits a period, or while every scheduler sleeps until one wakes. Under
 * wd.lock. */
static void nap(bool busy)
{
    struct timespec ts;
    uint64_t ns = wd.period_ns;

    if (!busy) {
        atomic_store(&wd.parked, true);
        if (all_asleep())
            ns = PARKED_NAP_NS;
        else
            atomic_store(&wd.parked, false);
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ns / 1000000000u);
    ts.tv_nsec += (long)(ns % 1000000000u);
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    if (!wd.stop)
        pthread_cond_timedwait(&wd.cond, &wd.lock, &ts);
    atomic_store(&wd.parked, false);
}

static void *watchdog(void *arg)
{
    struct node *n = &ax__node;

    (void)arg;
    ax__name_thread(pthread_self(), "ax-watchdog");
    pthread_mutex_lock(&wd.lock);
    while (!wd.stop) {
        uint64_t now = ax__now_ns();
        bool busy = false;

        for (unsigned i = 0; i < n->nscheds; i++)
            busy |= watch(i, now);
        nap(busy);
    }
    pthread_mutex_unlock(&wd.lock);
    return NULL;
}

void ax__preempt_woke(void)
{
    /* seq_cst: see all_asleep. */
    if (!atomic_load(&wd.parked))
        return;
    pthread_mutex_lock(&wd.lock);
    atomic_store(&wd.parked, false);
    pthread_cond_signal(&wd.cond);
    pthread_mutex_unlock(&wd.lock);
}

static unsigned slice_ms_from_env(void)
{
    const char *v = getenv("AX_SLICE_MS");
    unsigned long ms = v && *v ? strtoul(v, NULL, 10) : 0;

    return ms > 0 && ms <= 60000 ? (unsigned)ms : PREEMPT_SLICE_MS_DEFAULT;
}

uint64_t ax__preempt_slice_ns(void)
{
    return wd.slice_ns;
}

int ax__preempt_start(unsigned slice_ms)
{
    unsigned nscheds = ax__node.nscheds;
    pthread_condattr_t attr;
    struct sigaction sa;
    bool xsave;

    ax__preempt_fpu_size = preempt_fpu_area(&xsave);
    if (ax__preempt_fpu_size < 576)
        ax__preempt_fpu_size = 576;
    ax__preempt_xsave = xsave;
    wd.slice_ns = (uint64_t)(slice_ms ? slice_ms : slice_ms_from_env()) *
                  1000000u;
    wd.period_ns = wd.slice_ns / 4 > 1000000 ? wd.slice_ns / 4 : 1000000;
    wd.seen = ax__calloc(nscheds, sizeof(uint64_t));
    wd.since = ax__calloc(nscheds, sizeof(uint64_t));
    wd.sent = ax__calloc(nscheds, sizeof(uint64_t));
    if (!wd.seen || !wd.since || !wd.sent)
        goto out_free;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigurg;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGURG, &sa, NULL) != 0)
        goto out_free;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wd.cond, &attr);
    pthread_condattr_destroy(&attr);
    wd.stop = false;
    if (pthread_create(&wd.thread, NULL, watchdog, NULL) != 0) {
        pthread_cond_destroy(&wd.cond);
        goto out_free;
    }
    wd.running = true;
    return 0;
out_free:
    ax__free(wd.seen);
    ax__free(wd.since);
    ax__free(wd.sent);
    return AX_ENOMEM;
}

void ax__preempt_stop(void)
{
    if (!wd.running)
        return;
    pthread_mutex_lock(&wd.lock);
    wd.stop = true;
    pthread_cond_signal(&wd.cond);
    pthread_mutex_unlock(&wd.lock);
    pthread_join(wd.thread, NULL);
    pthread_cond_destroy(&wd.cond);
    ax__free(wd.seen);
    ax__free(wd.since);
    ax__free(wd.sent);
    wd.seen = wd.since = wd.sent = NULL;
    wd.running = false;
}
