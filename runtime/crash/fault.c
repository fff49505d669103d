/*
 * fault.c - turning a native fault in a process into that process's exit
 * (fault.h), and a fault anywhere else into a clear death.
 *
 * Per scheduler thread: an alternate signal stack (so a stack overflow
 * can still be handled) and a recovery stack (where the process's exit
 * runs once the handler has returned). What the handler learnt, the
 * backtrace's program counters included, travels to the recovery
 * function in a thread-local record; the symbolised backtrace stays in
 * it, tagged with the faulting pid, until the thread's next fault.
 *
 * The handler is async-signal-safe: it reads thread-local and process
 * memory, walks a frame chain inside known stack bounds, and on the
 * fatal path calls dump.c (open, read, write, mkdir, close), gettid,
 * nanosleep, sigaction and raise. Only one thread takes the fatal path;
 * another that faults meanwhile waits for the first to end the program.
 */
#include "fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../core/assert.h"
#include "../core/tls.h"
#include "../term/atom.h"
#include "fault_arch.h"

#define ALT_STACK_SIZE (64u * 1024)
#define RECOVERY_STACK_SIZE (256u * 1024)
#define FATAL_WAIT_NS (5ull * 1000000000) /* for another thread's dump */

struct fault_thread {
    struct sched *s;
    char *alt;
    char *recovery;
    uintptr_t stack_lo; /* the thread's own stack */
    uintptr_t stack_hi;
    int sig;
    uintptr_t addr;
    bool guard;
    size_t npcs;
    uintptr_t pcs[AX_BACKTRACE_MAX];
    char *backtrace; /* symbolised pcs, of bt_pid's fault */
    ax_term_t bt_pid;
    bool symbolising; /* recover() is in ax__backtrace_symbolise */
    bool retried;     /* recover() started over after a fault in it */
};

static AX_TLS struct fault_thread ft;
static const int fault_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
static bool installed;
/* The thread id of the first thread on the fatal path, or 0. A
 * lock-free atomic, hence async-signal-safe; it orders nothing. */
static _Atomic(long) dying;

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "sigsegv";
    case SIGBUS:
        return "sigbus";
    case SIGFPE:
        return "sigfpe";
    case SIGILL:
        return "sigill";
    default:
        return "sigabrt";
    }
}

static bool within(uintptr_t a, uintptr_t lo, size_t size)
{
    return a >= lo && a - lo < size;
}

static bool on_recovery_stack(uintptr_t sp)
{
    return ft.recovery &&
           within(sp, (uintptr_t)ft.recovery, RECOVERY_STACK_SIZE);
}

/* The bounds of the stack that sp is on: one this thread knows, or the
 * mapping that holds it. */
static bool stack_bounds(uintptr_t sp, const struct proc *p, uintptr_t *lo,
                         uintptr_t *hi)
{
    if (p && p->stack && within(sp, (uintptr_t)p->stack->lo, p->stack->size)) {
        *lo = (uintptr_t)p->stack->lo;
        *hi = *lo + p->stack->size;
    } else if (on_recovery_stack(sp)) {
        *lo = (uintptr_t)ft.recovery;
        *hi = *lo + RECOVERY_STACK_SIZE;
    } else if (ft.stack_hi && sp >= ft.stack_lo && sp < ft.stack_hi) {
        *lo = ft.stack_lo;
        *hi = ft.stack_hi;
    } else {
        return ax__fault_dump_mapping(sp, lo, hi);
    }
    return true;
}

/* The default action from now on; it runs once the handler returns (the
 * raised signal is blocked until then; a fault would recur anyway). */
static void die(int sig)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, NULL);
    raise(sig);
}

/* Another thread is writing the dump: let it finish and end the
 * program; if it never does, end it from here. */
static void wait_for_death(void)
{
    struct timespec ts = {0, 10 * 1000000};

    for (uint64_t waited = 0; waited < FATAL_WAIT_NS;
         waited += (uint64_t)ts.tv_nsec)
        nanosleep(&ts, NULL);
}

/* A fault outside any process: say what, dump, die. */
static void fatal(int sig, const siginfo_t *info, const ucontext_t *uc)
{
    struct proc *p = ft.s ? ft.s->current : NULL;
    uintptr_t sp = uc_sp(uc);
    long self = (long)syscall(SYS_gettid);
    long first = 0;
    struct fault_report r;
    uintptr_t lo;
    uintptr_t hi;

    if (!atomic_compare_exchange_strong(&dying, &first, self)) {
        if (first != self) /* else it faulted writing the dump: die now */
            wait_for_death();
        die(sig);
        return;
    }
    memset(&r, 0, sizeof(r));
    r.sig = sig;
    r.code = info->si_code;
    r.sender = info->si_code <= 0 ? (int)info->si_pid : 0;
    r.addr = (uintptr_t)info->si_addr;
    r.pc = uc_pc(uc);
    r.sched = ft.s ? (int)ft.s->id : -1;
    r.running = p ? atomic_load_explicit(&p->pid, memory_order_relaxed) : 0;
    r.recovering = p && (ft.symbolising || on_recovery_stack(sp));
    r.no_recovery = p && !r.recovering;
    if (stack_bounds(sp, p, &lo, &hi))
        r.npcs = ax__backtrace_walk(r.pc, uc_fp(uc), lo, hi, r.pcs,
                                    AX_BACKTRACE_MAX);
    else
        r.pcs[r.npcs++] = r.pc;
    ax__fault_dump_fatal(&r);
    die(sig);
}

/* Where the thread resumes after the handler: ordinary context. */
static void recover(void)
{
    struct proc *p = ft.s->current;
    uint64_t obj[4];
    ax_term_t reason;

    /* Entered again if libdw faulted in the symbolisation below (or p
     * faulted inside libdw): give libdw up, and symbolise raw. Meanwhile
     * ft.backtrace is NULL: the old one is not freed twice. */
    ax__backtrace_abandon();
    free(ft.backtrace);
    ft.backtrace = NULL;
    ft.bt_pid = atomic_load_explicit(&p->pid, memory_order_relaxed);
    ft.symbolising = true;
    ft.backtrace = ax__backtrace_symbolise(ft.pcs, ft.npcs, true);
    ft.symbolising = false;
    obj[0] =
        make_header(HDR_TUPLE, ft.sig == SIGSEGV || ft.sig == SIGBUS ? 3 : 2);
    obj[1] = make_atom(ATOM_IDX_SIGNAL);
    obj[2] = ax_atom(signal_name(ft.sig));
    obj[3] = small_fits((int64_t)ft.addr) ? make_small((int64_t)ft.addr)
                                          : make_small(0);
    reason = ft.guard ? make_atom(ATOM_IDX_STACK_OVERFLOW) : make_boxed(obj);
    ax__proc_exit(p, reason);
}

static void handler(int sig, siginfo_t *info, void *uctx)
{
    ucontext_t *uc = uctx;
    struct proc *p = ft.s ? ft.s->current : NULL;
    const struct stack *st;

    if (p && ft.symbolising && !ft.retried) {
        /* libdw faulted, symbolising p's fault: start over, once. */
        ft.retried = true;
        san_unpoison(ft.recovery, RECOVERY_STACK_SIZE);
        uc_redirect(uc, recover, ft.recovery + RECOVERY_STACK_SIZE);
        return;
    }
    if (!p || !ft.recovery || ft.symbolising || on_recovery_stack(uc_sp(uc))) {
        fatal(sig, info, uc);
        return;
    }
    ft.retried = false;
    st = p->stack;
    ft.sig = sig;
    ft.addr = (uintptr_t)info->si_addr;
    ft.guard = (sig == SIGSEGV || sig == SIGBUS) && st &&
               ax__stack_is_guard(st, info->si_addr);
    ft.npcs = st ? ax__backtrace_walk(uc_pc(uc), uc_fp(uc), (uintptr_t)st->lo,
                                      (uintptr_t)st->lo + st->size, ft.pcs,
                                      AX_BACKTRACE_MAX)
                 : 0;
    if (ft.npcs == 0)
        ft.pcs[ft.npcs++] = uc_pc(uc);
    san_unpoison(ft.recovery, RECOVERY_STACK_SIZE);
    uc_redirect(uc, recover, ft.recovery + RECOVERY_STACK_SIZE);
}

int ax__fault_init(void)
{
    struct sigaction sa;

    ax__fault_dump_path(); /* fixed now: the handler cannot getenv */
    if (installed)
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(fault_signals) / sizeof(int); i++)
        if (sigaction(fault_signals[i], &sa, NULL) != 0)
            return AX_EINVAL;
    installed = true;
    return 0;
}

const char *ax__fault_backtrace(void)
{
    struct proc *p = ax__proc_self();
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

    /* A fault's exit runs on the recovery stack, and no other. */
    if (!p || !ft.backtrace || !on_recovery_stack(sp) ||
        atomic_load_explicit(&p->pid, memory_order_relaxed) != ft.bt_pid)
        return NULL;
    return ft.backtrace;
}

static void *map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}

/* Notes the bounds of the calling thread's own stack. */
static void note_stack(void)
{
    pthread_attr_t attr;
    void *lo;
    size_t size;

    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
        ft.stack_lo = (uintptr_t)lo;
        ft.stack_hi = (uintptr_t)lo + size;
    }
    pthread_attr_destroy(&attr);
}

void ax__fault_thread(struct sched *s, bool starting)
{
    stack_t ss;

    if (!starting) {
        memset(&ss, 0, sizeof(ss));
        ss.ss_flags = SS_DISABLE;
        sigaltstack(&ss, NULL);
        if (ft.alt)
            munmap(ft.alt, ALT_STACK_SIZE);
        if (ft.recovery)
            munmap(ft.recovery, RECOVERY_STACK_SIZE);
        free(ft.backtrace);
        memset(&ft, 0, sizeof(ft));
        return;
    }
    ft.s = s;
    note_stack();
    ft.alt = map(ALT_STACK_SIZE);
    ft.recovery = map(RECOVERY_STACK_SIZE);
    if (!ft.alt)
        return; /* faults on this thread will be fatal, as without us */
    ss.ss_sp = ft.alt;
    ss.ss_size = ALT_STACK_SIZE;
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
}
