/*
 * term.h - the layout of a term word and of boxed objects.
 *
 * A term is one 64-bit word. Its low two bits are the primary tag:
 *
 *   00  HEADER  never a term: the first word of a boxed object on a heap
 *   01  LIST    pointer to a cons cell (two words: head, tail), tag added
 *   10  BOXED   pointer to a header word, tag added
 *   11  IMMED   an immediate; bits 2-3 say which:
 *         0011  small integer, signed, in bits 4..63 (60 bits)
 *         0111  pid: number in bits 4..31, serial in bits 32..55,
 *               node index in bits 56..63 (0 is this node)
 *         1011  atom: its index in the atom table in bits 4..63
 *         1111  special: [] is 0x0F
 *
 * The word 0 is AX_NONE, the non-value (a header of type 0: never a term).
 *
 * A header is  arity << 8 | type << 2 | 00: arity counts the words that
 * follow it. Types below HDR_SCAN_LIMIT hold only terms after the header
 * (the collector scans them); the others hold raw words.
 *
 *   TUPLE   arity n: the elements
 *   MAP     arity 2n: the n keys in ascending exact order, then the values
 *   FLOAT   arity 1: an IEEE double
 *   BIGINT  arity 1: an int64_t outside the small range
 *   HEAPBIN arity 1 + ceil(size / 8): the size in bytes, then the bytes
 *   REFBIN  arity 2: a struct binary * (off-heap, reference-counted), and
 *           the next REFBIN of the same heap generation (its off-heap list)
 *   REF     arity 1 + ceil(nwords / 2): node index and word count, then
 *           the 32-bit id words packed two per word, least significant
 *           first (as NEWER_REFERENCE_EXT)
 *
 * Invariants the collector relies on (see mem/gc.c): terms on a heap point
 * only into that same heap, and only to objects made before them (terms
 * are never mutated after construction), so an old object never points
 * at a young one and no write barrier is needed.
 *
 * Allocation is declared here and implemented by mem/heap.c: term
 * constructors need a bump allocator, and nothing more of the heap.
 */
#ifndef AX_TERM_TERM_H
#define AX_TERM_TERM_H

#include "../ax.h"

#include <stdatomic.h>
#include <string.h>

#define TAG_MASK 0x3u
#define TAG_HEADER 0x0u
#define TAG_LIST 0x1u
#define TAG_BOXED 0x2u
#define TAG_IMMED 0x3u

#define IMM_MASK 0xFu
#define IMM_SMALL 0x3u
#define IMM_PID 0x7u
#define IMM_ATOM 0xBu
#define IMM_SPECIAL 0xFu

enum hdr_type {
    HDR_NONE = 0,
    HDR_TUPLE = 1,
    HDR_MAP = 2,
    HDR_SCAN_LIMIT = 3,
    HDR_FLOAT = 3,
    HDR_BIGINT = 4,
    HDR_HEAPBIN = 5,
    HDR_REFBIN = 6,
    HDR_REF = 7
};

/* A pid's fields. */
#define PID_NUMBER_BITS 28
#define PID_SERIAL_BITS 24
#define PID_NODE_BITS 8
#define PID_NUMBER_MAX ((UINT64_C(1) << PID_NUMBER_BITS) - 1)
#define PID_SERIAL_MAX ((UINT64_C(1) << PID_SERIAL_BITS) - 1)
#define PID_NODE_MAX ((UINT64_C(1) << PID_NODE_BITS) - 1)

/* The largest number of 32-bit words in a reference (as Erlang's). */
#define REF_WORDS_MAX 5

/*
 * A shared binary: off-heap, reference-counted, immutable once made. Each
 * REFBIN object on a heap holds one reference.
 */
struct binary {
    atomic_size_t refs; /* relaxed increments; acq_rel decrement to 0 */
    size_t size;
    uint8_t data[];
};

/* --- Primary tags ------------------------------------------------------- */

static inline unsigned term_tag(ax_term_t t)
{
    return (unsigned)(t & TAG_MASK);
}

static inline bool term_is_boxed(ax_term_t t)
{
    return term_tag(t) == TAG_BOXED;
}

static inline bool term_is_cons(ax_term_t t)
{
    return term_tag(t) == TAG_LIST;
}

static inline bool term_is_immed(ax_term_t t)
{
    return term_tag(t) == TAG_IMMED;
}

static inline uint64_t *term_ptr(ax_term_t t)
{
    return (uint64_t *)(uintptr_t)(t & ~(ax_term_t)TAG_MASK);
}

static inline ax_term_t make_boxed(const uint64_t *p)
{
    return (ax_term_t)(uintptr_t)p | TAG_BOXED;
}

static inline ax_term_t make_cons_ptr(const uint64_t *p)
{
    return (ax_term_t)(uintptr_t)p | TAG_LIST;
}

/* --- Headers ------------------------------------------------------------ */

static inline uint64_t make_header(enum hdr_type type, size_t arity)
{
    return (uint64_t)arity << 8 | (uint64_t)type << 2;
}

static inline enum hdr_type header_type(uint64_t hdr)
{
    return (enum hdr_type)((hdr >> 2) & 0x3F);
}

static inline size_t header_arity(uint64_t hdr)
{
    return (size_t)(hdr >> 8);
}

static inline bool header_is_scanned(uint64_t hdr)
{
    return header_type(hdr) < HDR_SCAN_LIMIT;
}

/* The header type of a boxed term; HDR_NONE for any other term. */
static inline enum hdr_type boxed_type(ax_term_t t)
{
    return term_is_boxed(t) ? header_type(*term_ptr(t)) : HDR_NONE;
}

/* --- Immediates --------------------------------------------------------- */

static inline bool term_is_small(ax_term_t t)
{
    return (t & IMM_MASK) == IMM_SMALL;
}

static inline int64_t small_value(ax_term_t t)
{
    return (int64_t)t >> 4; /* arithmetic shift: gcc and clang guarantee */
}

static inline bool small_fits(int64_t v)
{
    return v >= AX_SMALL_MIN && v <= AX_SMALL_MAX;
}

static inline ax_term_t make_small(int64_t v)
{
    return ((ax_term_t)v << 4) | IMM_SMALL;
}

static inline bool term_is_atom(ax_term_t t)
{
    return (t & IMM_MASK) == IMM_ATOM;
}

static inline uint64_t atom_index(ax_term_t t)
{
    return t >> 4;
}

static inline ax_term_t make_atom(uint64_t index)
{
    return (index << 4) | IMM_ATOM;
}

static inline bool term_is_pid(ax_term_t t)
{
    return (t & IMM_MASK) == IMM_PID;
}

static inline ax_term_t make_pid(unsigned node, uint64_t number,
                                 uint64_t serial)
{
    return (uint64_t)node << 56 | (serial & PID_SERIAL_MAX) << 32 |
           (number & PID_NUMBER_MAX) << 4 | IMM_PID;
}

static inline uint64_t pid_number(ax_term_t t)
{
    return (t >> 4) & PID_NUMBER_MAX;
}

static inline uint64_t pid_serial(ax_term_t t)
{
    return (t >> 32) & PID_SERIAL_MAX;
}

static inline unsigned pid_node(ax_term_t t)
{
    return (unsigned)(t >> 56);
}

/* --- Boxed objects ------------------------------------------------------ */

static inline size_t tuple_arity(ax_term_t t)
{
    return header_arity(*term_ptr(t));
}

static inline ax_term_t *tuple_elems(ax_term_t t)
{
    return (ax_term_t *)term_ptr(t) + 1;
}

static inline ax_term_t *cons_cell(ax_term_t t)
{
    return (ax_term_t *)term_ptr(t);
}

static inline size_t map_count(ax_term_t t)
{
    return header_arity(*term_ptr(t)) / 2;
}

static inline ax_term_t *map_keys(ax_term_t t)
{
    return (ax_term_t *)term_ptr(t) + 1;
}

static inline ax_term_t *map_vals(ax_term_t t)
{
    return (ax_term_t *)term_ptr(t) + 1 + map_count(t);
}

static inline double float_value(ax_term_t t)
{
    double d;
    memcpy(&d, term_ptr(t) + 1, sizeof(d));
    return d;
}

static inline int64_t bigint_value(ax_term_t t)
{
    return (int64_t)term_ptr(t)[1];
}

static inline struct binary *refbin_binary(ax_term_t t)
{
    return (struct binary *)(uintptr_t)term_ptr(t)[1];
}

/* Reference fields: word 1 is node << 8 | nwords. */
static inline unsigned ref_node(ax_term_t t)
{
    return (unsigned)(term_ptr(t)[1] >> 8);
}

static inline unsigned ref_nwords(ax_term_t t)
{
    return (unsigned)(term_ptr(t)[1] & 0xFF);
}

static inline uint32_t ref_word(ax_term_t t, unsigned i)
{
    return (uint32_t)(term_ptr(t)[2 + i / 2] >> (32 * (i % 2)));
}

/* The number of a reference this node made (node 0, three id words, the
 * top one zero: how ax makes them), or 0 for any other term. */
static inline uint64_t ref_local_number(ax_term_t t)
{
    if (boxed_type(t) != HDR_REF || ref_node(t) != 0 || ref_nwords(t) != 3 ||
        ref_word(t, 2) != 0)
        return 0;
    return (uint64_t)ref_word(t, 1) << 32 | ref_word(t, 0);
}

/* Words a reference of n id words takes, header included. */
static inline size_t ref_words_for(unsigned n)
{
    return 2 + (n + 1) / 2;
}

/* Words a heap binary of size bytes takes, header included. */
static inline size_t heapbin_words_for(size_t size)
{
    return 2 + (size + 7) / 8;
}

/* --- Allocation (implemented by mem/heap.c) ------------------------------ */

/*
 * n words on h, uninitialised, 8-byte aligned; NULL on failure (after
 * calling the heap's oom handler, which may not return). The caller must
 * fill them with a valid object before anything else can see the heap.
 */
uint64_t *ax__heap_alloc(ax_heap_t *h, size_t n);

/* Links a freshly made REFBIN object (its header and binary filled in) into
 * h's off-heap list, taking over its reference. */
void ax__heap_add_refbin(ax_heap_t *h, uint64_t *obj);

/* A new shared binary of size bytes (data copied if not NULL), one ref. */
struct binary *ax__binary_new(const void *data, size_t size);
void ax__binary_ref(struct binary *b);
/* Bytes of every shared binary alive (the node's off-heap memory). Any
 * thread; kept as binaries are made and freed, so reading is cheap. */
uint64_t ax__binary_bytes_total(void);
void ax__binary_unref(struct binary *b);

/* --- Construction helpers shared by the parser, the ETF decoder... -------- */

/* A float term; the caller has checked the value is finite. */
ax_term_t ax__make_float(ax_heap_t *h, double v);
/* A reference term of n id words (1..REF_WORDS_MAX). */
ax_term_t ax__make_ref(ax_heap_t *h, unsigned node, unsigned n,
                       const uint32_t *words);
/* A binary of size bytes to be filled by the caller through *data. */
ax_term_t ax__make_binary(ax_heap_t *h, size_t size, uint8_t **data);
/* A tuple of n elements, uninitialised: the caller fills *elems at once. */
ax_term_t ax__make_tuple(ax_heap_t *h, size_t n, ax_term_t **elems);
/*
 * A map from n pairs that are not yet sorted and may repeat keys (the
 * later value wins). keys and vals are scratch: they are reordered.
 */
ax_term_t ax__make_map(ax_heap_t *h, size_t n, ax_term_t *keys,
                       ax_term_t *vals);

#endif /* AX_TERM_TERM_H */
