/*
 * backtrace.h - native backtraces: capturing the program counters of a
 * stack, async-signal-safely, and turning them into text with libdw.
 *
 * Capture walks the frame-pointer chain (the runtime is built with
 * -fno-omit-frame-pointer): each frame record is the caller's frame
 * pointer followed by the return address, on x86-64 and aarch64 alike.
 * The walk reads only inside the stack bounds it is given and stops at
 * anything that does not look like a frame, so a corrupt chain cannot
 * fault again. A function built without frame pointers (a module built
 * with -O2 alone) hides its caller; the pc it faulted at is still there.
 *
 * Symbolisation runs in ordinary context: one line per frame,
 *
 *   #0 0x55d0c0001139 crash (3.segv.so) examples/segv.c:17
 *
 * that is the address, the function, the module's file base name, and
 * the source file (relative to the directory it was compiled in) and
 * line where debug information exists; "??" stands for what is not
 * known, and a frame outside any known module is its address alone. A
 * return address is looked up one byte back, so the line is the call's.
 * One Dwfl session, for this process, is cached under a lock, and
 * re-reported when the dynamic linker has loaded or unloaded objects.
 * libdw runs on a stack of its own (1 MiB), as it may want more than a
 * process's stack has left. A failure of libdw gives raw addresses,
 * never an error.
 */
#ifndef AX_CRASH_BACKTRACE_H
#define AX_CRASH_BACKTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most frames captured or symbolised. */
#define AX_BACKTRACE_MAX 64

/*
 * Walks the frame-pointer chain that starts at frame pointer fp, whose
 * frame is executing at pc: stores pc, then each return address, in
 * out[0..max), and returns how many. Frame records are read only inside
 * [lo, hi), at increasing addresses. Async-signal-safe: reads memory
 * only, calls nothing.
 */
size_t ax__backtrace_walk(uintptr_t pc, uintptr_t fp, uintptr_t lo,
                          uintptr_t hi, uintptr_t *out, size_t max);

/*
 * The text of the backtrace pcs[0..n) of this process, one line per
 * frame as above, each ending in a newline; malloc'd, the caller frees.
 * exact_first says pcs[0] is the address of the faulting instruction
 * rather than a return address. NULL only when memory runs out. Any
 * thread, in a process or not, ordinary context; serialised on a lock
 * (the first call, or the first after a dlopen, reads this process's
 * maps and the modules' debug information: milliseconds).
 */
char *ax__backtrace_symbolise(const uintptr_t *pcs, size_t n, bool exact_first);

/*
 * The same, for addresses of a process that is gone, whose file-backed
 * mappings are maps (lines in the format of /proc/PID/maps): used for a
 * crash dump at the next start. A module whose file has changed since
 * (another inode at that path) is not trusted: its frames stay raw.
 * Uses a Dwfl session of its own. NULL only when memory runs out. As
 * ax__backtrace_symbolise otherwise.
 */
char *ax__backtrace_symbolise_maps(const uintptr_t *pcs, size_t n,
                                   bool exact_first, const char *maps);

/*
 * The backtrace of the calling thread, from its caller (skip frames
 * more skipped), symbolised; malloc'd, the caller frees; NULL when
 * memory runs out. Ordinary context, in a process or not. Uses the
 * unwinder (call frame information), so frames without frame pointers
 * are not lost.
 */
char *ax__backtrace_now(int skip);

/* Whether the calling thread is inside ax__backtrace_symbolise (so a
 * fault now was raised by libdw). Async-signal-safe. */
bool ax__backtrace_busy(void);

/*
 * After a fault inside ax__backtrace_symbolise on the calling thread,
 * which then left it by other means: gives libdw up for the rest of the
 * program (its state may be corrupt; symbolisation gives raw addresses
 * from now on) and releases the lock that thread held. No-op unless
 * ax__backtrace_busy().
 */
void ax__backtrace_abandon(void);

#endif /* AX_CRASH_BACKTRACE_H */
