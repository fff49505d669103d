/*
 * ax.h - the one public header of libax, an Erlang-style actor runtime.
 *
 * Everything a program, a loadable module, the shell and the observer may
 * use is declared here; nothing else of the runtime is visible outside it
 * (the library is built with -fvisibility=hidden and exports only AX_API).
 *
 * Conventions, for every function below:
 * - Actions return 0 or a negative AX_E* code; ax_strerror() names it.
 * - A term (ax_term_t) is one 64-bit word. Immediates (small integers,
 *   atoms, pids, []) need no storage; everything else lives on a heap
 *   (ax_heap_t) and stays valid until that heap is collected or freed.
 *   Constructors that allocate take the heap explicitly and return
 *   AX_NONE when the allocation fails (unless the heap has an out-of-
 *   memory handler, which then does not return).
 * - A heap belongs to one thread at a time; terms may be read from any
 *   thread while their heap is neither written nor collected.
 * - The atom table is global and thread-safe.
 */
#ifndef AX_H
#define AX_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(AX_BUILDING) && defined(__GNUC__)
#define AX_API __attribute__((visibility("default")))
#else
#define AX_API
#endif

#define AX_VERSION_MAJOR 0
#define AX_VERSION_MINOR 1
#define AX_VERSION_PATCH 0
#define AX_VERSION_STRING "0.1.0"

/* ===================================================================== */
/* Errors                                                                 */
/* ===================================================================== */

/*
 * The error list: XX(NAME, code, atom, message). AX_E<NAME> is the
 * (negative) code; the atom is the Erlang reason of the same failure.
 */
#define AX_ERRNO_MAP(XX)                                                  \
    XX(NOMEM, -1, "oom", "out of memory")                                 \
    XX(INVAL, -2, "badarg", "invalid argument")                           \
    XX(BADARG, -3, "badarg", "bad argument")                              \
    XX(BADARITH, -4, "badarith", "bad argument in arithmetic expression") \
    XX(SYSLIMIT, -5, "system_limit", "a system limit has been reached")   \
    XX(SYNTAX, -6, "syntax_error", "syntax error")                        \
    XX(BADETF, -7, "badetf", "malformed external term format")            \
    XX(RANGE, -8, "badarg", "value out of range")                         \
    XX(NOTSUP, -9, "notsup", "operation not supported")                   \
    XX(NOPROC, -10, "noproc", "no such process")                          \
    XX(TIMEOUT, -11, "timeout", "timed out")                              \
    XX(NOTPROC, -12, "not_a_process", "not called from a process")        \
    XX(STATE, -13, "badstate", "the node is not in a state to do that")   \
    XX(EXITED, -14, "exit", "the process exited during the call")         \
    XX(NOMODULE, -15, "undef", "no such module")                          \
    XX(BADMODULE, -16, "badfile", "not a loadable module")                \
    XX(COMPILE, -17, "compile_error", "compilation failed")               \
    XX(BUSY, -18, "not_purged", "old code is still in use")              \
    XX(NOCONN, -19, "noconnection", "cannot reach the node")              \
    XX(REFUSED, -20, "refused", "the node refused the connection")        \
    XX(PROTO, -21, "badframe", "protocol error")                          \
    XX(INUSE, -22, "in_use", "the name is in use")

enum {
    AX_OK = 0,
#define AX_ERRNO_ENUM_(name, code, atom, msg) AX_E##name = (code),
    AX_ERRNO_MAP(AX_ERRNO_ENUM_)
#undef AX_ERRNO_ENUM_
    AX_ERRNO_LAST_ = -23
};

/* The message of an error code ("unknown error" for anything else).
 * Thread-safe; the string is static. */
AX_API const char *ax_strerror(int err);

/* The short name of an error code, e.g. "ENOMEM". Thread-safe, static. */
AX_API const char *ax_err_name(int err);
/* The Erlang reason of an error code, e.g. "badarith". Static. */
AX_API const char *ax_err_reason(int err);

/* ===================================================================== */
/* Terms                                                                  */
/* ===================================================================== */

typedef uint64_t ax_term_t;

/* A heap that terms are allocated on. Opaque; see "Heaps" below. */
typedef struct ax_heap ax_heap_t;

/* The non-value: returned by constructors on failure; never a valid term. */
#define AX_NONE ((ax_term_t)0)
/* The empty list [] (an immediate). */
#define AX_NIL ((ax_term_t)0x0F)

typedef enum ax_type {
    AX_T_NONE = 0, /* AX_NONE */
    AX_T_INT,      /* integer, 64-bit signed */
    AX_T_FLOAT,    /* IEEE double */
    AX_T_ATOM,
    AX_T_REF,      /* reference */
    AX_T_PID,
    AX_T_TUPLE,
    AX_T_MAP,
    AX_T_NIL,      /* [] */
    AX_T_LIST,     /* a cons cell: [H | T] */
    AX_T_BINARY
} ax_type_t;

/* The type of a term. Thread-safe. */
AX_API ax_type_t ax_typeof(ax_term_t t);

/* The Erlang name of a type ("integer", "tuple", ...). Static string. */
AX_API const char *ax_type_name(ax_type_t type);

/* --- Integers and floats ----------------------------------------------- */

/* Integers in [AX_SMALL_MIN, AX_SMALL_MAX] are immediate; the rest of the
 * int64_t range is boxed on the heap. */
#define AX_SMALL_MAX ((int64_t)((UINT64_C(1) << 59) - 1))
#define AX_SMALL_MIN (-AX_SMALL_MAX - 1)

/* An integer. Allocates (2 words) only outside the small range. */
AX_API ax_term_t ax_int(ax_heap_t *h, int64_t v);
/* A float (2 words). NaN and infinities are refused (AX_NONE): Erlang has
 * no such floats. */
AX_API ax_term_t ax_float(ax_heap_t *h, double v);

AX_API bool ax_is_int(ax_term_t t);
AX_API bool ax_is_float(ax_term_t t);
AX_API bool ax_is_number(ax_term_t t);
/* The value of an integer term; AX_EBADARG if t is not one. */
AX_API int ax_get_int(ax_term_t t, int64_t *out);
/* The value of a float term, or of an integer converted to double. */
AX_API int ax_get_float(ax_term_t t, double *out);

/* --- Atoms -------------------------------------------------------------- */

/* The longest atom, in characters (as Erlang). */
#define AX_ATOM_MAX_CHARS 255
/* The default limit of the atom table (Erlang's +t default). */
#define AX_ATOM_LIMIT_DEFAULT 1048576

/*
 * The atom of the given UTF-8 text, made if new. Errors: AX_EBADARG if the
 * text is not valid UTF-8, AX_ESYSLIMIT if it is longer than
 * AX_ATOM_MAX_CHARS characters or the table is full (as Erlang's
 * system_limit), AX_ENOMEM. Thread-safe; lock-free when the atom exists
 * already.
 */
AX_API int ax_atom_intern(const char *text, size_t len, ax_term_t *out);
/* The atom of a NUL-terminated string, or AX_NONE on any error above. */
AX_API ax_term_t ax_atom(const char *name);
/* The existing atom of the text, or AX_NONE: never creates one. */
AX_API ax_term_t ax_atom_existing(const char *text, size_t len);
AX_API bool ax_is_atom(ax_term_t t);
/* The UTF-8 text of an atom (not NUL-terminated: use *len), valid for the
 * life of the process; NULL if t is not an atom. Lock-free. */
AX_API const char *ax_atom_text(ax_term_t t, size_t *len);
/* How many atoms exist, and the table's limit. */
AX_API size_t ax_atom_count(void);
AX_API size_t ax_atom_limit(void);
/* Sets the table's limit; only before the first atom is made (AX_EINVAL
 * after) and at least the number of built-in atoms. */
AX_API int ax_atom_set_limit(size_t limit);

/* Booleans are the atoms true and false. */
AX_API ax_term_t ax_bool(bool b);
AX_API bool ax_is_true(ax_term_t t);

/* --- Tuples ------------------------------------------------------------- */

/* A tuple of n elements given as arguments / in an array (copied). */
AX_API ax_term_t ax_tuple(ax_heap_t *h, size_t n, ...);
AX_API ax_term_t ax_tuple_v(ax_heap_t *h, size_t n, const ax_term_t *elems);
AX_API bool ax_is_tuple(ax_term_t t);
/* The size of a tuple (0 if t is not a tuple). */
AX_API size_t ax_tuple_size(ax_term_t t);
/* Element i (0-based) of a tuple; AX_NONE out of range or not a tuple. */
AX_API ax_term_t ax_tuple_get(ax_term_t t, size_t i);
/* True if t is a tuple of size n whose first element is the atom tag. */
AX_API bool ax_is_record(ax_term_t t, ax_term_t tag, size_t n);

/* --- Lists -------------------------------------------------------------- */

AX_API ax_term_t ax_cons(ax_heap_t *h, ax_term_t head, ax_term_t tail);
/* A proper list of n elements (copied from the array). */
AX_API ax_term_t ax_list_v(ax_heap_t *h, size_t n, const ax_term_t *elems);
AX_API bool ax_is_cons(ax_term_t t);
/* True for [] and for any cons cell (proper or not), as is_list/1. */
AX_API bool ax_is_list(ax_term_t t);
/* Head and tail of a cons cell; AX_NONE for anything else. */
AX_API ax_term_t ax_head(ax_term_t t);
AX_API ax_term_t ax_tail(ax_term_t t);
/* The length of a proper list, or -1 if t is not one. O(n). */
AX_API ptrdiff_t ax_list_length(ax_term_t t);

/* --- Binaries ----------------------------------------------------------- */

/* Binaries of this many bytes or more live off-heap, reference-counted,
 * and are shared (not copied) between heaps. */
#define AX_BINARY_SHARED_MIN 64

/* A binary holding a copy of len bytes (data may be NULL when len is 0). */
AX_API ax_term_t ax_binary(ax_heap_t *h, const void *data, size_t len);
/* A binary of a NUL-terminated string; the shell's "text". */
AX_API ax_term_t ax_string(ax_heap_t *h, const char *s);
AX_API bool ax_is_binary(ax_term_t t);
/* The bytes of a binary and their count; NULL if t is not a binary. The
 * pointer is valid while the term is. */
AX_API const uint8_t *ax_binary_data(ax_term_t t, size_t *len);

/* --- Maps --------------------------------------------------------------- */

/* An empty map. */
AX_API ax_term_t ax_map_new(ax_heap_t *h);
/* A map of n pairs; a key given twice keeps its last value. */
AX_API ax_term_t ax_map_from(ax_heap_t *h, size_t n, const ax_term_t *keys,
                             const ax_term_t *vals);
/* A copy of map with key set to val (maps are immutable). */
AX_API ax_term_t ax_map_put(ax_heap_t *h, ax_term_t map, ax_term_t key,
                            ax_term_t val);
/* A copy of map without key (map itself if key is absent). */
AX_API ax_term_t ax_map_remove(ax_heap_t *h, ax_term_t map, ax_term_t key);
AX_API bool ax_is_map(ax_term_t t);
AX_API size_t ax_map_size(ax_term_t t);
/* The value under key (matched with =:=), or AX_NONE. O(log n). */
AX_API ax_term_t ax_map_get(ax_term_t map, ax_term_t key);
/* Pair i (0-based, in key order) of a map; false out of range. */
AX_API bool ax_map_pair(ax_term_t map, size_t i, ax_term_t *key,
                        ax_term_t *val);

/* --- Pids and references ------------------------------------------------ */

AX_API bool ax_is_pid(ax_term_t t);
AX_API bool ax_is_ref(ax_term_t t);

/* --- Order, equality, hashing ------------------------------------------- */

/*
 * Erlang's total term order:
 *   number < atom < reference < fun < port < pid < tuple < map < [] < list
 *   < binary
 * ax_compare() is the order of < and ==: 1 and 1.0 compare equal.
 * ax_compare_exact() refines it as =:= does (an integer sorts before an
 * equal float), and is the order of map keys. Both return <0, 0 or >0 and
 * need no heap. Thread-safe on immutable terms.
 */
AX_API int ax_compare(ax_term_t a, ax_term_t b);
AX_API int ax_compare_exact(ax_term_t a, ax_term_t b);
/* a == b and a =:= b. */
AX_API bool ax_equal(ax_term_t a, ax_term_t b);
AX_API bool ax_equal_exact(ax_term_t a, ax_term_t b);
/* A hash agreeing with =:= (equal terms hash alike, on every heap). */
AX_API uint64_t ax_hash(ax_term_t t);

/* --- Arithmetic --------------------------------------------------------- */

/*
 * Integer and float arithmetic as Erlang's + - * / div rem, on int64
 * integers: a result that does not fit 64 bits, a non-number operand, a
 * division by zero or a non-finite float result is AX_EBADARITH (never a
 * silent wrap). '/' always gives a float. The result goes in *out.
 */
typedef enum ax_arith_op {
    AX_OP_ADD, AX_OP_SUB, AX_OP_MUL, AX_OP_FDIV, AX_OP_DIV, AX_OP_REM
} ax_arith_op_t;
AX_API int ax_arith(ax_heap_t *h, ax_arith_op_t op, ax_term_t a, ax_term_t b,
                    ax_term_t *out);
/* -A; AX_EBADARITH for a non-number or the negation of INT64_MIN. */
AX_API int ax_negate(ax_heap_t *h, ax_term_t a, ax_term_t *out);

/* ===================================================================== */
/* Printing and parsing (Erlang syntax)                                   */
/* ===================================================================== */

/*
 * How ax_format() prints. Zero means "no bound" for each limit. When a
 * bound cuts a term short the elided part prints as "...", so a bounded
 * print is for people, not for parsing back.
 */
typedef struct ax_format_opts {
    size_t max_depth; /* containers nested deeper print as ... */
    size_t max_width; /* elements shown per tuple, list, map, binary */
    size_t max_chars; /* the whole text is cut to about this many bytes */
} ax_format_opts_t;

/*
 * The text of t in Erlang syntax, NUL-terminated, in a buffer the caller
 * frees with free(); *len (if not NULL) gets its length. NULL on
 * allocation failure. opts may be NULL (no bounds). Unbounded output
 * parses back to a term =:= to t.
 */
AX_API char *ax_format(ax_term_t t, const ax_format_opts_t *opts,
                       size_t *len);
/* Writes ax_format(t, opts) to f. Returns 0 or AX_ENOMEM. */
AX_API int ax_print(FILE *f, ax_term_t t, const ax_format_opts_t *opts);

/* Where and why a parse failed: "1:7: expected ',' or '}'". */
typedef struct ax_parse_error {
    int line;           /* 1-based */
    int column;         /* 1-based, in bytes */
    char message[160];  /* what was expected or what was wrong */
} ax_parse_error_t;

/*
 * Parses exactly one term from text[0..len) (UTF-8), optionally followed
 * by a full stop, with white space and % comments around it. On success
 * stores the term (allocated on h) in *out and returns 0. Errors:
 * AX_ESYNTAX with *err filled (err may be NULL), AX_ESYSLIMIT (atom
 * table full, nesting deeper than AX_PARSE_MAX_DEPTH), AX_ENOMEM.
 */
#define AX_PARSE_MAX_DEPTH 10000
AX_API int ax_parse(ax_heap_t *h, const char *text, size_t len,
                    ax_term_t *out, ax_parse_error_t *err);
/*
 * Parses one term that ends with a full stop, from text[*pos..len), and
 * advances *pos past the stop: the way to read a file of terms. Returns
 * 1 when a term was read, 0 at the end of the input (only white space and
 * comments left), or an error as ax_parse() (AX_EINVAL if *pos > len).
 */
AX_API int ax_parse_next(ax_heap_t *h, const char *text, size_t len,
                         size_t *pos, ax_term_t *out, ax_parse_error_t *err);
/* Formats err as "LINE:COL: MESSAGE" into buf (always NUL-terminated). */
AX_API void ax_parse_error_format(const ax_parse_error_t *err, char *buf,
                                  size_t size);

/* ===================================================================== */
/* External Term Format                                                   */
/* ===================================================================== */

/* Encoding flags. */
enum {
    /*
     * Atoms as SMALL_ATOM_UTF8_EXT / ATOM_UTF8_EXT, as term_to_binary
     * with {minor_version, 2} and OTP 26+. Without it, atoms that fit
     * Latin-1 are ATOM_EXT, as OTP 25's default.
     */
    AX_ETF_UTF8_ATOMS = 1 << 0
};

/* The node name that pids and references of this node carry in the
 * External Term Format ('nonode@nohost' until set). */
AX_API int ax_etf_set_node_name(const char *name, uint32_t creation);

/*
 * Encodes t as term_to_binary/1 would (version byte 131 first) into a
 * buffer the caller frees with free(). Errors: AX_ENOMEM, AX_EBADARG
 * (AX_NONE anywhere in t).
 */
AX_API int ax_etf_encode(ax_term_t t, unsigned flags, uint8_t **out,
                         size_t *len);
/* The exact size ax_etf_encode() would produce, or a negative error. */
AX_API ptrdiff_t ax_etf_size(ax_term_t t, unsigned flags);
/*
 * Decodes one term (version byte first) from buf[0..len) onto h.
 * *used (if not NULL) gets how many bytes it took; trailing bytes are
 * allowed. Errors: AX_EBADETF for malformed or truncated input, an
 * unsupported tag or an integer beyond 64 bits (with no heap allocation
 * leaked to the caller: what was built is garbage), AX_ESYSLIMIT, AX_ENOMEM.
 */
AX_API int ax_etf_decode(ax_heap_t *h, const uint8_t *buf, size_t len,
                         ax_term_t *out, size_t *used);

/* ===================================================================== */
/* Heaps and garbage collection                                           */
/* ===================================================================== */

/*
 * A heap is owned by one process (or one thread). Allocation is a bump of
 * a pointer; nothing is allocated before the first term. Collection is
 * explicit, at a safe point, with the live terms given as roots: nothing
 * else survives, and every term not reachable from a root is invalid
 * afterwards. Terms on a heap only point into that heap (and to shared
 * off-heap binaries); ax_copy() moves a term between heaps.
 */
AX_API ax_heap_t *ax_heap_new(void);
/* Frees a heap, its terms, and its references to shared binaries.
 * Accepts NULL. */
AX_API void ax_heap_free(ax_heap_t *h);

/*
 * Called when an allocation on h fails; it must not return (a process
 * heap uses it to end the process with reason oom). NULL (the default)
 * makes allocating functions return AX_NONE instead.
 */
typedef void (*ax_oom_fn)(ax_heap_t *h, void *arg);
AX_API void ax_heap_set_oom(ax_heap_t *h, ax_oom_fn fn, void *arg);

/* Which collection ax_heap_gc() does. */
typedef enum ax_gc_kind {
    AX_GC_AUTO,  /* minor, or major when the old generation is full */
    AX_GC_MINOR, /* minor if the old generation has room, else major */
    AX_GC_MAJOR  /* always major (a full sweep) */
} ax_gc_kind_t;

/*
 * Collects h. roots[0..n) are the live terms; each is updated in place to
 * its new address. Errors: AX_ENOMEM (the heap is left as it was).
 */
AX_API int ax_heap_gc(ax_heap_t *h, ax_term_t *roots, size_t n,
                      ax_gc_kind_t kind);

/* Counters of one heap, for the observer. Sizes are in 8-byte words. */
typedef struct ax_heap_stats {
    uint64_t minor_gcs;         /* minor collections done */
    uint64_t major_gcs;         /* major collections (full sweeps) */
    size_t heap_size;           /* young generation: capacity */
    size_t heap_used;           /* young generation: words in use */
    size_t old_heap_size;       /* old generation: capacity */
    size_t old_heap_used;       /* old generation: words in use */
    size_t offheap_bytes;       /* shared binaries this heap refers to */
    uint64_t words_reclaimed;   /* total over all collections */
    uint64_t last_pause_ns;     /* the last collection's duration */
    uint64_t max_pause_ns;      /* the longest one */
} ax_heap_stats_t;
AX_API void ax_heap_stats(const ax_heap_t *h, ax_heap_stats_t *out);

/*
 * A copy of t on heap dst (from any heap): sized first, then copied in one
 * allocation. Sharing inside t is not kept (as in Erlang); shared binaries
 * are referenced, not copied. AX_NONE on allocation failure. The source
 * heap is only read.
 */
AX_API ax_term_t ax_copy(ax_heap_t *dst, ax_term_t t);
/* The words ax_copy() would allocate for t. */
AX_API size_t ax_copy_size(ax_term_t t);

/* ===================================================================== */
/* Processes                                                              */
/* ===================================================================== */

/*
 * A process is share-nothing: its own heap, its own mailbox. Either a body
 * (a C function run once with an argument; when it returns, the process
 * exits with reason normal) or a handler (called once per message with the
 * process's state, returning the new state: no stack is held between
 * messages, so an idle handler process costs a few hundred bytes).
 *
 * Functions marked "in a process" must be called from a process (a body,
 * a handler, or what they call); elsewhere they fail with AX_ENOTPROC.
 * Terms passed in are copied to where they go (the new process's heap,
 * the receiver's mailbox); terms handed back are on the calling process's
 * heap (ax_heap()).
 *
 * A body may block anywhere (ax_receive, ax_sleep, later ax_call): it then
 * keeps its stack until it returns. Blocking is not a callback chain.
 */
typedef void (*ax_body_fn)(ax_term_t arg);
typedef ax_term_t (*ax_handler_fn)(ax_term_t msg, ax_term_t state);

/* Special terms that only patterns use: a wildcard and variables 0..15. */
#define AX_ANY ((ax_term_t)0x1F)
#define AX_VAR(n) ((ax_term_t)(((uint64_t)(n) << 8) | 0x2F))
#define AX_VARS_MAX 16
/* The timeout that never expires. */
#define AX_INFINITY (-1)

enum {
    AX_SPAWN_LINK = 1 << 0,    /* link to the caller, atomically */
    AX_SPAWN_MONITOR = 1 << 1, /* the caller monitors it, atomically */
    AX_SPAWN_TRAP_EXIT = 1 << 2
};

typedef struct ax_spawn_opts {
    ax_body_fn body;       /* exactly one of body and handler */
    ax_handler_fn handler;
    ax_term_t arg;         /* body's argument, or handler's first state */
    unsigned flags;        /* AX_SPAWN_* */
    ax_term_t name;        /* registered at once if an atom, else AX_NONE */
} ax_spawn_opts_t;

/*
 * Starts a process; *pid (if not NULL) gets its pid and, with
 * AX_SPAWN_MONITOR, *mref the monitor's reference (on the caller's heap).
 * May be called from a process or from any thread of a started node (a
 * link or monitor then needs a process: AX_ENOTPROC). Errors: AX_ESTATE
 * (no node), AX_ESYSLIMIT (process table full), AX_EBADARG (name taken),
 * AX_ENOMEM.
 */
AX_API int ax_spawn_opt(const ax_spawn_opts_t *opts, ax_term_t *pid,
                        ax_term_t *mref);
AX_API int ax_spawn(ax_body_fn fn, ax_term_t arg, ax_term_t *pid);
AX_API int ax_spawn_link(ax_body_fn fn, ax_term_t arg, ax_term_t *pid);
AX_API int ax_spawn_monitor(ax_body_fn fn, ax_term_t arg, ax_term_t *pid,
                            ax_term_t *mref);
AX_API int ax_spawn_handler(ax_handler_fn fn, ax_term_t state,
                            ax_term_t *pid);

/* The calling process's pid, or AX_NONE outside a process. */
AX_API ax_term_t ax_self(void);
/* The calling process's heap (made on first use), or NULL outside one.
 * Running out of it ends the process with reason oom. */
AX_API ax_heap_t *ax_heap(void);
/* Ends the calling process with reason (copied). In a process only. */
AX_API _Noreturn void ax_exit(ax_term_t reason);
/*
 * Sends an exit signal to pid, as erlang:exit/2: reason normal is ignored
 * unless pid is the caller or traps exits; kill ends it untrappably (its
 * links see killed); others end it unless it traps exits, when it gets
 * {'EXIT', From, Reason}. A dead pid is not an error (as Erlang).
 */
AX_API int ax_exit_signal(ax_term_t pid, ax_term_t reason);
AX_API bool ax_is_alive(ax_term_t pid);
/* Sets the caller's trap_exit flag; returns the old value. */
AX_API bool ax_trap_exit(bool on);

/* --- Messages ----------------------------------------------------------- */

/*
 * Sends msg (copied) to a pid or a registered name. Sending to a dead pid
 * is not an error (the message is dropped, as in Erlang); to a name that
 * is not registered is AX_EBADARG. From any thread of a started node.
 */
AX_API int ax_send(ax_term_t to, ax_term_t msg);

/*
 * Selective receive: the first message in the mailbox that matches
 * pattern (AX_ANY for any message) is removed and stored in *msg; the
 * others stay in order. A pattern is a term where AX_ANY matches
 * anything and AX_VAR(n) matches anything and binds it in bindings[n]
 * (bindings may be NULL; a variable used twice must match equal terms);
 * everything else matches by =:=. timeout_ms: 0 polls, AX_INFINITY
 * waits forever. Errors: AX_ETIMEOUT, AX_ENOTPROC. In a process only.
 */
AX_API int ax_receive(ax_term_t pattern, int64_t timeout_ms, ax_term_t *msg,
                      ax_term_t *bindings);
/* The same with a C predicate instead of a pattern. */
typedef bool (*ax_match_fn)(ax_term_t msg, void *arg);
AX_API int ax_receive_fn(ax_match_fn match, void *arg, int64_t timeout_ms,
                         ax_term_t *msg);
/* Does term match pattern (as ax_receive)? Fills bindings if not NULL. */
AX_API bool ax_match(ax_term_t pattern, ax_term_t term, ax_term_t *bindings);

/* A new reference, unique in this node. In a process (on its heap), or
 * on h if h is not NULL. */
AX_API ax_term_t ax_make_ref(ax_heap_t *h);

/* --- Links and monitors ------------------------------------------------- */

/* In a process. ax_link to a dead process: AX_ENOPROC (as Erlang's
 * noproc); to itself: nothing. ax_unlink of no link: nothing. */
AX_API int ax_link(ax_term_t pid);
AX_API int ax_unlink(ax_term_t pid);
/*
 * Monitors pid (or a registered name); *ref gets the reference. When the
 * target exits (at once if it is dead: reason noproc) the caller gets
 * {'DOWN', Ref, process, Pid, Reason}. In a process.
 */
AX_API int ax_monitor(ax_term_t pid, ax_term_t *ref);
enum { AX_DEMONITOR_FLUSH = 1 };
/* Removes a monitor; with AX_DEMONITOR_FLUSH also a 'DOWN' already
 * received for it. */
AX_API int ax_demonitor(ax_term_t ref, unsigned flags);

/* --- Registered names ---------------------------------------------------- */

/* Errors: AX_EBADARG for a name taken, a non-atom, a dead pid, or a
 * process that has a name already. */
AX_API int ax_register(ax_term_t name, ax_term_t pid);
AX_API int ax_unregister(ax_term_t name);
/* The pid registered as name, or AX_NONE. */
AX_API ax_term_t ax_whereis(ax_term_t name);
/* The list of registered names, on h. */
AX_API ax_term_t ax_registered(ax_heap_t *h);

/* --- Timers ---------------------------------------------------------------- */

/* Suspends the caller for ms milliseconds. In a process. */
AX_API int ax_sleep(int64_t ms);
/* Sends msg to `to` after ms; *tref gets a reference to cancel it. */
AX_API int ax_send_after(int64_t ms, ax_term_t to, ax_term_t msg,
                         ax_term_t *tref);
/* Cancels a timer; *left_ms gets the time that was left, or -1 if it had
 * fired or was unknown (then the call returns AX_EBADARG). */
AX_API int ax_cancel_timer(ax_term_t tref, int64_t *left_ms);

/* --- Scheduling ------------------------------------------------------------ */

/* Lets other processes run. In a process. */
AX_API void ax_yield(void);
/* Adds n reductions to the caller's count (work the runtime cannot see);
 * yields if the slice is spent. */
AX_API void ax_consume_reductions(unsigned n);
/* Collects the caller's heap with the given live terms as roots (a body
 * process has no other safe point). In a process. */
AX_API int ax_gc(ax_term_t *roots, size_t n);

/* The bytes of the runtime's own record of one process (its struct and
 * its process-table slot), before any heap or message. */
AX_API size_t ax_process_size(void);

/* --- Process information ----------------------------------------------- */

typedef enum ax_proc_status {
    AX_PS_RUNNABLE, AX_PS_RUNNING, AX_PS_WAITING, AX_PS_EXITING
} ax_proc_status_t;

typedef struct ax_process_info {
    ax_term_t pid;
    ax_proc_status_t status;
    ax_term_t registered_name; /* an atom, or [] */
    uint64_t reductions;
    size_t message_queue_len;
    bool trap_exit;
    ax_term_t links;           /* list of pids, on the caller's heap */
    ax_term_t monitors;        /* list of {process, Pid} it monitors */
    ax_term_t monitored_by;    /* list of pids */
    ax_term_t initial_call;    /* {Module|C function name, ...} */
    ax_term_t current;         /* what it runs now, as initial_call */
    ax_heap_stats_t heap;
    size_t memory;             /* bytes: struct, heap, queued messages */
    bool has_stack;            /* blocked mid-body, holding a stack */
} ax_process_info_t;

/*
 * Information about pid, as erlang:process_info/1, with terms made on h
 * (the caller's heap if NULL). Errors: AX_ENOPROC (dead), AX_ENOMEM.
 * From a process or any thread of a started node.
 */
AX_API int ax_process_info(ax_term_t pid, ax_heap_t *h,
                           ax_process_info_t *out);

/* ===================================================================== */
/* The node: starting, stopping, embedding                                */
/* ===================================================================== */

typedef struct ax_node_opts {
    unsigned schedulers;   /* 0: one per core */
    size_t max_processes;  /* 0: 1,048,576 */
    uint64_t seed;         /* nonzero: deterministic mode (one scheduler,
                            * ready processes picked by this seed) */
    size_t stack_size;     /* 0: 256 KiB */
    unsigned slice_ms;     /* 0: 10 (or AX_SLICE_MS): how long a process
                            * may run before the watchdog preempts it */
    const char *name;      /* the node's name, for its crash log
                            * (NAME.db); NULL: as before (nonode at
                            * first). ax_node_listen takes it again */
} ax_node_opts_t;

/*
 * Starts the node's schedulers. opts may be NULL (defaults; AX_SEED in
 * the environment selects the deterministic mode). One node per program.
 * Errors: AX_ESTATE (already started), AX_ENOMEM, AX_EINVAL.
 */
AX_API int ax_node_start(const ax_node_opts_t *opts);
/*
 * Kills every process, waits for the schedulers to finish, frees
 * everything. From a thread that is not a process. AX_ESTATE if the node
 * is not started.
 */
AX_API int ax_node_stop(void);
/*
 * Spawns fn(arg) as the root process of a started node and waits for it
 * to exit; *reason (if not NULL) gets its exit reason as text (malloc'd,
 * the caller frees). Returns 0 when it exited normal, AX_EBADARG (with the
 * reason) otherwise. From a thread that is not a process.
 */
AX_API int ax_node_run(ax_body_fn fn, ax_term_t arg, char **reason);

/* Counters of the whole node, for the observer. */
typedef struct ax_sched_stats {
    double utilisation;     /* busy time over wall time since last call */
    uint64_t busy_ns;       /* total */
    size_t run_queue;       /* processes waiting to run */
    uint64_t context_switches;
    uint64_t steals;
    uint64_t preemptions;   /* runaway slices cut short by the watchdog */
} ax_sched_stats_t;

typedef struct ax_node_stats {
    unsigned schedulers;
    size_t processes;          /* alive now */
    size_t process_limit;
    uint64_t spawns;
    uint64_t exits;
    uint64_t messages;         /* sent */
    uint64_t reductions;
    uint64_t gcs;
    size_t stacks;             /* stacks in use or pooled */
    uint64_t seed;             /* the deterministic seed, or 0 */
} ax_node_stats_t;

AX_API int ax_node_stats(ax_node_stats_t *out);
/* Scheduler i's counters; AX_EINVAL past the last. */
AX_API int ax_sched_stats(unsigned i, ax_sched_stats_t *out);

/* ===================================================================== */
/* Modules and hot code loading                                           */
/* ===================================================================== */

/*
 * A module is a shared object built from C that defines, with AX_MODULE,
 * the callbacks of a gen_server. Each callback runs in the server's
 * process and returns terms exactly as Erlang's gen_server callbacks do:
 *
 *   init(Args)                   {ok, State} | {ok, State, Timeout}
 *                                | {stop, Reason} | ignore
 *   handle_call(Req, From, S)    {reply, Reply, S} | {reply, Reply, S, T}
 *                                | {noreply, S} | {noreply, S, T}
 *                                | {stop, Reason, Reply, S}
 *                                | {stop, Reason, S}
 *   handle_cast(Msg, S)          {noreply, S} | {noreply, S, T}
 *                                | {stop, Reason, S}
 *   handle_info(Msg, S)          as handle_cast
 *   terminate(Reason, S)         anything (its result is ignored)
 *   code_change(OldVsn, S, Extra) {ok, NewS} | {error, Reason}
 *
 * where T is a timeout in ms (a 'timeout' info message follows if nothing
 * arrives) or the atom hibernate. init, handle_call and handle_cast are
 * required; the others are optional (an unexpected info message is then
 * dropped with a note, terminate does nothing, and code_change keeps the
 * state). A crash in any of them is that process's crash.
 */
#define AX_MODULE_ABI 1

typedef struct ax_module_desc {
    uint32_t abi;          /* AX_MODULE_ABI when it was built */
    const char *name;      /* the module's name (an atom's text) */
    const char *version;   /* any string; shown as the version */
    ax_term_t (*init)(ax_term_t args);
    ax_term_t (*handle_call)(ax_term_t req, ax_term_t from, ax_term_t st);
    ax_term_t (*handle_cast)(ax_term_t msg, ax_term_t st);
    ax_term_t (*handle_info)(ax_term_t msg, ax_term_t st);
    void (*terminate)(ax_term_t reason, ax_term_t st);
    ax_term_t (*code_change)(ax_term_t old_vsn, ax_term_t st,
                             ax_term_t extra);
} ax_module_desc_t;

/* The symbol the loader looks for in a module's shared object. */
#define AX_MODULE_SYMBOL "ax_module_info"

/*
 * Defines the module: AX_MODULE(counter, "1.0", .init = counter_init,
 * .handle_call = counter_call, .handle_cast = counter_cast). Once per
 * shared object.
 */
#define AX_MODULE(mod, vsn, ...)                                          \
    __attribute__((visibility("default"))) const ax_module_desc_t        \
        ax_module_info = {.abi = AX_MODULE_ABI,                           \
                          .name = #mod,                                   \
                          .version = (vsn),                               \
                          __VA_ARGS__}

/*
 * Loads a module: `what` is a path to a .so, or a module name looked up
 * as NAME.so in the search path. The loader copies the file to a private
 * name first, so a rebuilt file at the same path loads as a new version;
 * the new version becomes current and the one before it old. Loading a
 * third version purges the old one: processes still running it are
 * killed (as code:purge). *name (if not NULL) gets the module's name.
 * On failure nothing already loaded changes, and *errmsg (if not NULL)
 * gets a message naming the file and the cause, which the caller frees.
 * Errors: AX_ENOMODULE (no such file), AX_EBADMODULE (dlopen failed, not
 * a module, another ABI, a required callback missing, a name that is not
 * an atom), AX_ENOMEM. Any thread.
 */
AX_API int ax_module_load(const char *what, ax_term_t *name, char **errmsg);
/*
 * Compiles SRC (a .c file, or a name looked up as NAME.c in the search
 * path) with the system C compiler and the flags ax was installed with,
 * then loads the result as ax_module_load does. The compiler's messages
 * come back in *errmsg (AX_ECOMPILE). Blocks the calling thread (or
 * process) while the compiler runs.
 */
AX_API int ax_module_compile(const char *src, ax_term_t *name,
                             char **errmsg);
/*
 * Removes a module's old version: processes still running it are killed
 * first (purge), or the call fails with AX_EBUSY if any is (soft purge).
 * No old version: 0.
 */
AX_API int ax_module_purge(ax_term_t name);
AX_API int ax_module_soft_purge(ax_term_t name);
/* Adds a directory to the front of the search path (also AX_PATH, a
 * colon-separated list, read at node start). */
AX_API int ax_module_add_path(const char *dir);
/*
 * Watches a loaded module's file and reloads it when it changes on disk
 * (inotify), or stops watching. AX_ENOMODULE if it is not loaded.
 */
AX_API int ax_module_watch(ax_term_t name, bool on);
/*
 * The loaded modules as a list of maps on h: #{name => N, current => Vsn,
 * old => Vsn | undefined, path => "file", current_procs => Count,
 * old_procs => Count}.
 */
AX_API ax_term_t ax_modules(ax_heap_t *h);

/* ===================================================================== */
/* gen_server                                                             */
/* ===================================================================== */

enum {
    AX_GEN_LINK = 1 << 0,     /* link the server to the caller */
    AX_GEN_MONITOR = 1 << 1
};

typedef struct ax_gen_opts {
    unsigned flags;           /* AX_GEN_* */
    ax_term_t name;           /* register as this atom, or AX_NONE */
    int64_t timeout_ms;       /* for init; 0: 5000 */
} ax_gen_opts_t;

/*
 * Starts a server running module (an atom: loaded, or loadable from the
 * search path) with init(args), and waits until init has returned.
 * Errors: AX_ENOMODULE, AX_EBADARG (name taken), AX_EEXITED (init
 * returned {stop, Reason} or crashed: *reason, if not NULL, gets the
 * reason on the caller's heap), AX_ETIMEOUT, AX_ESYSLIMIT. When init
 * returns ignore, 0 with *pid = AX_NONE. In a process.
 */
AX_API int ax_gen_start(ax_term_t module, ax_term_t args,
                        const ax_gen_opts_t *opts, ax_term_t *pid,
                        ax_term_t *reason);

/* The default timeout of ax_call, in milliseconds. */
#define AX_CALL_TIMEOUT 5000

/*
 * Calls a server (a pid or a registered name): sends {'$gen_call', {Self,
 * Ref}, Request} and waits for the reply, monitoring the server meanwhile.
 * Errors: AX_ENOPROC (no such server), AX_EEXITED (it exited before
 * replying: *reply gets the reason), AX_ETIMEOUT. A reply that comes
 * after the timeout is dropped, never left in the caller's mailbox. In a
 * process; from inside a callback it blocks that server, as in Erlang.
 */
AX_API int ax_call(ax_term_t server, ax_term_t request, int64_t timeout_ms,
                   ax_term_t *reply);
/* Sends {'$gen_cast', Msg}; never fails for a dead server (as Erlang). */
AX_API int ax_cast(ax_term_t server, ax_term_t msg);
/* Replies to a call whose handle_call returned noreply; from is the From
 * it was given. */
AX_API int ax_reply(ax_term_t from, ax_term_t reply);
/* The server's state (as sys:get_state). In a process. */
AX_API int ax_get_state(ax_term_t server, int64_t timeout_ms,
                        ax_term_t *state);
/* Replaces the server's state with fn(State, arg), run in the server (as
 * sys:replace_state); *state gets the new one. In a process. */
typedef ax_term_t (*ax_state_fn)(ax_term_t state, void *arg);
AX_API int ax_replace_state(ax_term_t server, ax_state_fn fn, void *arg,
                            int64_t timeout_ms, ax_term_t *state);
/* Stops a server with reason (terminate runs) and waits until it is gone
 * (as gen_server:stop). In a process. */
AX_API int ax_gen_stop(ax_term_t server, ax_term_t reason,
                       int64_t timeout_ms);

/* ===================================================================== */
/* Supervisors                                                            */
/* ===================================================================== */

/*
 * A supervisor is a process that starts children, watches them and
 * restarts them, as OTP's supervisor. Its flags and child specifications
 * are terms, as in OTP:
 *
 *   Flags: #{strategy => one_for_one | one_for_all | rest_for_one
 *                        | simple_one_for_one,
 *            intensity => 1, period => 5}
 *   Child: #{id => Id, start => {Module, Args},
 *            restart => permanent | transient | temporary,
 *            shutdown => brutal_kill | Milliseconds | infinity,
 *            type => worker | supervisor}
 *
 * start {Module, Args} starts a gen_server of Module (ax_gen_start with a
 * link); start {supervisor, Flags, Children} starts a supervisor. Defaults
 * are OTP's (intensity 1, period 5 s, restart permanent, shutdown 5000 for
 * a worker and infinity for a supervisor). More than `intensity` restarts
 * within `period` seconds make the supervisor give up: it stops its
 * children and exits with reason shutdown, and its own supervisor deals
 * with that.
 */

/*
 * Errors of the calls below, mapped from OTP's replies: an unknown id or
 * pid ({error, not_found}) is AX_EINVAL; a child running or restarting
 * (restart_child, delete_child), an id already present or started
 * (start_child; for {already_started, Pid} *pid gets the running child),
 * a malformed spec and extra arguments that are not a list are
 * AX_EBADARG; restart_child and delete_child on a simple_one_for_one, and
 * terminate_child there with anything but a pid, are AX_ENOTSUP; a child
 * that fails to start ({failed_to_start_child, Id, Reason}) is
 * AX_EEXITED. On an error *pid is left as it was. A supervisor that does
 * not exist is AX_ENOPROC. All wait for the supervisor's answer; in a
 * process. The requests are OTP's (which_children, count_children,
 * {start_child, Spec | ExtraArgs}, {terminate_child, Id | Pid},
 * {restart_child, Id}, {delete_child, Id}), so ax_call can send them too.
 * ax_get_state on a supervisor gives #{strategy, intensity, period,
 * restarts, children}; ax_gen_stop stops its children, newest first,
 * then it. A child spec may also say name => Atom: the child is
 * registered under that name.
 *
 * ax_supervisor_start's reasons: {supervisor_data, What} (flags),
 * {bad_start_spec, Children}, {bad_child_spec, Spec, What} (What as
 * OTP's: missing_id, missing_start, {invalid_mfa, Start},
 * {invalid_restart_type, R}, {invalid_shutdown, S},
 * {invalid_child_type, T}, {duplicate_child_name, Id}, ...),
 * {already_started, Pid} for a name taken (all AX_EBADARG), and
 * {shutdown, {failed_to_start_child, Id, Reason}} (AX_EEXITED). Called
 * from a thread that is not a process, the supervisor has no parent and
 * *reason is AX_NONE.
 */
/* Starts a supervisor linked to the caller (if a process), registered as
 * name if it is an atom. Errors: AX_EBADARG (malformed flags or specs,
 * *reason says which), AX_EEXITED (a child failed to start: *reason). */
AX_API int ax_supervisor_start(ax_term_t name, ax_term_t flags,
                               ax_term_t children, ax_term_t *pid,
                               ax_term_t *reason);
/* Adds and starts a child (a spec; for simple_one_for_one, the list of
 * extra arguments appended to the template's). In a process. */
AX_API int ax_supervisor_start_child(ax_term_t sup, ax_term_t spec,
                                     ax_term_t *pid);
/* id is the child's id (or its pid for simple_one_for_one). */
AX_API int ax_supervisor_terminate_child(ax_term_t sup, ax_term_t id);
AX_API int ax_supervisor_restart_child(ax_term_t sup, ax_term_t id,
                                       ax_term_t *pid);
AX_API int ax_supervisor_delete_child(ax_term_t sup, ax_term_t id);
/* [{Id, Pid | restarting | undefined, worker | supervisor, [Module]}]. */
AX_API int ax_supervisor_which_children(ax_term_t sup, ax_term_t *list);
/* #{specs => N, active => N, supervisors => N, workers => N}. */
AX_API int ax_supervisor_count_children(ax_term_t sup, ax_term_t *counts);

/* What a supervisor did, for the crash log and the observer. */
typedef enum ax_sup_event {
    AX_SUP_RESTART,     /* a child died and was restarted */
    AX_SUP_GIVE_UP,     /* intensity exceeded: the supervisor exits */
    AX_SUP_START_ERROR, /* a child failed to (re)start */
    AX_SUP_SHUTDOWN_KILL /* a child did not stop in time and was killed */
} ax_sup_event_t;

typedef struct ax_sup_report {
    ax_sup_event_t event;
    ax_term_t supervisor;  /* its pid */
    ax_term_t sup_name;    /* registered name or [] */
    ax_term_t child_id;
    ax_term_t child_pid;   /* the old pid */
    ax_term_t new_pid;     /* after a restart, else AX_NONE */
    ax_term_t reason;
    uint64_t restarts;     /* restarts of this supervisor so far */
} ax_sup_report_t;

/*
 * One hook receives every supervisor report, in the supervisor's process
 * (terms valid during the call only). NULL turns it off. Set before
 * supervisors start; any thread.
 */
typedef void (*ax_sup_hook_fn)(const ax_sup_report_t *report);
AX_API void ax_supervisor_set_hook(ax_sup_hook_fn fn);

/* ===================================================================== */
/* Crash log                                                              */
/* ===================================================================== */

/*
 * The node writes a crash report for every abnormal exit, and a report
 * for every supervisor action, to its SQLite database (the schema is in
 * ax(1)): by default $XDG_STATE_HOME/ax/NODE.db, else
 * ~/.local/state/ax/NODE.db. The node installs its supervisor hook at
 * start; a hook set afterwards replaces it.
 *
 * Sets the database the next ax_node_start writes to (copied; NULL
 * restores the default). A path that cannot be written does not stop
 * the node: it says so on stderr and keeps reports in memory, within a
 * bound, retrying. Errors: AX_EINVAL (empty path), AX_ENOMEM, AX_ESTATE
 * (the node runs). Any thread.
 */
AX_API int ax_crash_log_set_path(const char *path);

/* ===================================================================== */
/* The control socket: attaching to a node                                */
/* ===================================================================== */

/*
 * A node with a name listens on a Unix socket, NAME.sock, in a directory
 * only its user can enter: $XDG_RUNTIME_DIR/ax, else /tmp/ax-UID (made
 * with mode 0700; one owned by someone else or open to group or world is
 * refused). A peer must run as the same user and present the node's
 * cookie. Frames are a 4-byte big-endian length, then one term in the
 * External Term Format, at most AX_FRAME_MAX bytes:
 *
 *   client                               node
 *   {hello, 1, Cookie, Opts}         ->  {welcome, 1, NodeName, ShellPid}
 *                                        | {error, Reason} (then closed)
 *   {req, Id, Request}               ->  {reply, Id, {ok, V} | {error, R}}
 *   {interrupt}                      ->  (a blocked request answers
 *                                         {error, interrupted})
 *                                    <-  {event, {message, Msg}}
 *                                    <-  {event, {shell_exit, Reason, Pid}}
 *
 * Cookie is a binary; Opts a map (trap_exit => Bool); Id a non-negative
 * integer the client chooses. Each connection has a session process on
 * the node, ShellPid: requests run in it (so a spawn with link links to
 * it), the messages it receives come back as events, and when an exit
 * signal ends it the node starts another for the session and says so
 * with a shell_exit event. The requests are listed in ax(1) and in
 * runtime/node/request.c.
 */
#define AX_PROTOCOL_VERSION 1
#define AX_FRAME_MAX (16u << 20)

typedef struct ax_listen_opts {
    const char *name;    /* the node's name: letters, digits, _ . -;
                          * at most 64 bytes */
    const char *cookie;  /* NULL: ~/.ax/cookie (made if missing) */
    const char *dir;     /* the socket's directory; NULL: the default */
} ax_listen_opts_t;

/*
 * Names the node and opens its control socket, served by one thread of
 * its own (it never blocks a scheduler). A stale socket of the same name
 * is replaced. Errors: AX_ESTATE (the node is not started, or listens
 * already), AX_EINVAL (a bad name, or a directory or cookie file that is
 * unsafe; said on stderr), AX_EINUSE (a node of that name runs),
 * AX_ENOMEM. From a thread that is not a process; ax_node_stop closes it.
 */
AX_API int ax_node_listen(const ax_listen_opts_t *opts);
/* The listening node's name (static until ax_node_stop), or NULL. */
AX_API const char *ax_node_name(void);
/* The default socket directory into buf, made if missing when make is
 * true. Errors: AX_EINVAL (unsafe, said on stderr; or missing), AX_ERANGE
 * (buf too small). Any thread. */
AX_API int ax_node_socket_dir(char *buf, size_t size, bool make);

/* A connection to a node, used by one thread at a time. */
typedef struct ax_client ax_client_t;

/*
 * Connects to a node: `node` is a name (looked up in the default socket
 * directory) or a path holding a '/'; cookie NULL reads ~/.ax/cookie.
 * opts is the hello's Opts map (AX_NONE: none). Errors: AX_ENOCONN (no
 * such node, or it does not answer), AX_EREFUSED (wrong cookie or user),
 * AX_EPROTO, AX_ENOMEM. No node needs to run in the calling program.
 */
AX_API int ax_client_connect(const char *node, const char *cookie,
                             ax_term_t opts, ax_client_t **out);
/* The node's name and the session's current shell pid (an immediate:
 * no heap), as the welcome or the last shell_exit event said. */
AX_API const char *ax_client_node(const ax_client_t *c);
AX_API ax_term_t ax_client_shell(const ax_client_t *c);
/*
 * Sends one request and waits up to timeout_ms (AX_INFINITY: for ever)
 * for its reply; *result gets the {ok, V} or {error, R} on h. Events
 * that arrive meanwhile are kept, in order, for ax_client_next_event.
 * Errors: AX_ETIMEOUT (the reply, if it comes, is dropped), AX_ENOCONN
 * (the node went away), AX_EPROTO, AX_ENOMEM.
 */
AX_API int ax_client_request(ax_client_t *c, ax_heap_t *h, ax_term_t req,
                             int64_t timeout_ms, ax_term_t *result);
/* The next event term ({message, M} or {shell_exit, Reason, NewPid}) on
 * h, waiting up to timeout_ms (0 polls). Errors: AX_ETIMEOUT,
 * AX_ENOCONN, AX_EPROTO, AX_ENOMEM. */
AX_API int ax_client_next_event(ax_client_t *c, ax_heap_t *h,
                                int64_t timeout_ms, ax_term_t *ev);
/* Asks the node to cancel the session's blocked request: it then
 * answers {error, interrupted}. The one call that another thread may
 * make while a thread waits in ax_client_request (frames are written
 * whole, under a lock). */
AX_API int ax_client_interrupt(ax_client_t *c);
/* The socket, for poll(): readable when an event or reply may be read. */
AX_API int ax_client_fd(const ax_client_t *c);
/* Closes the connection (the node ends the session). Accepts NULL. */
AX_API void ax_client_close(ax_client_t *c);

#ifdef __cplusplus
}
#endif

#endif /* AX_H */
