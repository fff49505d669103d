/*
 * fault.c - turning a native fault in a process into that process's exit
 * (fault.h).
 *
 * Per scheduler thread: an alternate signal stack (so a stack overflow
 * can still be handled) and a recovery stack (where the process's exit
 * runs once the handler has returned). What the handler learnt travels
 * to the recovery function in a thread-local record.
 */
#include "fault.h"

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../core/assert.h"
#include "../core/tls.h"
#include "../term/atom.h"
#include "fault_arch.h"

#define ALT_STACK_SIZE (64u * 1024)
#define RECOVERY_STACK_SIZE (256u * 1024)

struct fault_thread {
    struct sched *s;
    char *alt;
    char *recovery;
    int sig;
    uintptr_t addr;
    uintptr_t pc;
    bool guard;
};

static AX_TLS struct fault_thread ft;
static const int fault_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL,
                                    SIGABRT};
static bool installed;

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

/* Async-signal-safe: the fixed text, then the default action. */
static void fatal(int sig)
{
    static const char msg[] =
        "ax: fatal signal outside any process: the node dies\n";
    struct sigaction sa;

    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more can be done about it here */
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, NULL);
    /* Returning re-runs the faulting instruction (or abort re-raises),
     * now with the default action. */
}

/* Where the thread resumes after the handler: ordinary context. */
static void recover(void)
{
    struct proc *p = ft.s->current;
    uint64_t obj[4];
    ax_term_t reason;

    obj[0] = make_header(HDR_TUPLE, ft.sig == SIGSEGV || ft.sig == SIGBUS
                                        ? 3
                                        : 2);
    obj[1] = make_atom(ATOM_IDX_SIGNAL);
    obj[2] = ax_atom(signal_name(ft.sig));
    obj[3] = small_fits((int64_t)ft.addr) ? make_small((int64_t)ft.addr)
                                          : make_small(0);
    reason = ft.guard ? make_atom(ATOM_IDX_STACK_OVERFLOW) : make_boxed(obj);
    ax__proc_exit(p, reason);
}

static bool on_recovery_stack(uintptr_t sp)
{
    return ft.recovery && sp >= (uintptr_t)ft.recovery &&
           sp < (uintptr_t)ft.recovery + RECOVERY_STACK_SIZE;
}

static void handler(int sig, siginfo_t *info, void *uctx)
{
    ucontext_t *uc = uctx;
    struct proc *p = ft.s ? ft.s->current : NULL;

    if (!p || !ft.recovery || on_recovery_stack(uc_sp(uc))) {
        fatal(sig);
        return;
    }
    ft.sig = sig;
    ft.addr = (uintptr_t)info->si_addr;
    ft.pc = uc_pc(uc);
    ft.guard = (sig == SIGSEGV || sig == SIGBUS) && p->stack &&
               ax__stack_is_guard(p->stack, info->si_addr);
    uc_redirect(uc, recover, ft.recovery + RECOVERY_STACK_SIZE);
}

int ax__fault_init(void)
{
    struct sigaction sa;

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

static void *map(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

    return p == MAP_FAILED ? NULL : p;
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
        memset(&ft, 0, sizeof(ft));
        return;
    }
    ft.s = s;
    ft.alt = map(ALT_STACK_SIZE);
    ft.recovery = map(RECOVERY_STACK_SIZE);
    if (!ft.alt)
        return; /* faults on this thread will be fatal, as without us */
    ss.ss_sp = ft.alt;
    ss.ss_size = ALT_STACK_SIZE;
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
}
