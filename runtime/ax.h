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
    XX(NOTSUP, -9, "notsup", "operation not supported")

enum {
    AX_OK = 0,
#define AX_ERRNO_ENUM_(name, code, atom, msg) AX_E##name = (code),
    AX_ERRNO_MAP(AX_ERRNO_ENUM_)
#undef AX_ERRNO_ENUM_
    AX_ERRNO_LAST_ = -10
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
 * text is not valid UTF-8 or longer than AX_ATOM_MAX_CHARS characters,
 * AX_ESYSLIMIT if the table is full, AX_ENOMEM. Thread-safe; lock-free when
 * the atom exists already.
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
 * comments left), or an error as ax_parse().
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

#ifdef __cplusplus
}
#endif

#endif /* AX_H */
