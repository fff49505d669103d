/*
 * etf.c - the Erlang External Term Format: term_to_binary/1 and
 * binary_to_term/1 (ax.h "External Term Format"), and the node table that
 * gives pids and references their node names (etf.h).
 *
 * Encoding writes what OTP 25's term_to_binary/1 writes, byte for byte
 * (maps in their stored order, which is OTP's for maps of up to 32 keys).
 * One walk serves both ax_etf_size() and ax_etf_encode(): with no buffer
 * it only counts, so the size is exact by construction. The walk keeps its
 * pending work on an explicit stack (no C recursion per nesting level); a
 * list in LIST_EXT form is pushed one cell at a time.
 *
 * Decoding is bottom-up, also without recursion: finished terms go on a
 * value stack; a tuple, list or map opens a frame that remembers where
 * its elements start on that stack and how many it needs, and is built
 * (with the heap's ordinary constructors) once they are all there. Every
 * length is checked against the bytes left before anything is made, and a
 * container of n elements needs at least n more bytes, so no allocation
 * is larger than a small multiple of the input. On error, what was built
 * is left on the heap as garbage.
 *
 * The node table holds one word per index, creation << 32 | (atom index
 * + 1), 0 for a free slot; slots fill in order, under a mutex, and are
 * read without one.
 */
#include "etf.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "../core/alloc.h"
#include "../core/assert.h"
#include "../core/utf8.h"
#include "atom.h"
#include "flonum.h"
#include "tstack.h"

enum etf_tag {
    VERSION_MAGIC = 131,
    NEW_FLOAT_EXT = 70,
    NEW_PID_EXT = 88,
    NEWER_REFERENCE_EXT = 90,
    SMALL_INTEGER_EXT = 97,
    INTEGER_EXT = 98,
    FLOAT_EXT = 99,
    ATOM_EXT = 100,
    REFERENCE_EXT = 101,
    PID_EXT = 103,
    SMALL_TUPLE_EXT = 104,
    LARGE_TUPLE_EXT = 105,
    NIL_EXT = 106,
    STRING_EXT = 107,
    LIST_EXT = 108,
    BINARY_EXT = 109,
    SMALL_BIG_EXT = 110,
    LARGE_BIG_EXT = 111,
    NEW_REFERENCE_EXT = 114,
    SMALL_ATOM_EXT = 115,
    MAP_EXT = 116,
    ATOM_UTF8_EXT = 118,
    SMALL_ATOM_UTF8_EXT = 119
};

/* OTP writes STRING_EXT only for byte lists shorter than this. */
#define STRING_EXT_LIMIT 0xFFFF
/* FLOAT_EXT: the text of "%.20e", NUL-padded to 31 bytes. */
#define FLOAT_EXT_SIZE 31

/* --- The node table ------------------------------------------------------- */

static _Atomic(uint64_t) nodes[PID_NODE_MAX + 1] = {ATOM_IDX_NONODE + 1};
static pthread_mutex_t nodes_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t node_key(ax_term_t name, uint32_t creation)
{
    return (uint64_t)creation << 32 | (atom_index(name) + 1);
}

/* The index of key, or -1 with *free_slot the first free slot (past the
 * end if the table is full). */
static int find_node(uint64_t key, unsigned *free_slot)
{
    for (unsigned i = 0; i <= PID_NODE_MAX; i++) {
        /* Acquire: pairs with the release that published the slot, so
         * the atom it names is visible too. */
        uint64_t e = atomic_load_explicit(&nodes[i], memory_order_acquire);

        if (e == key)
            return (int)i;
        if (e == 0) {
            *free_slot = i;
            return -1;
        }
    }
    *free_slot = PID_NODE_MAX + 1;
    return -1;
}

bool ax__etf_node(unsigned index, ax_term_t *name, uint32_t *creation)
{
    uint64_t e;

    if (index > PID_NODE_MAX)
        return false;
    e = atomic_load_explicit(&nodes[index], memory_order_acquire);
    if (e == 0)
        return false;
    *name = make_atom((e & UINT32_MAX) - 1);
    *creation = (uint32_t)(e >> 32);
    return true;
}

int ax__etf_node_index(ax_term_t name, uint32_t creation, unsigned *index)
{
    uint64_t key = node_key(name, creation);
    unsigned slot;
    int i = find_node(key, &slot);

    if (i < 0) {
        pthread_mutex_lock(&nodes_lock);
        i = find_node(key, &slot);
        if (i < 0 && slot <= PID_NODE_MAX) {
            /* Release: whoever reads the slot sees the atom it names. */
            atomic_store_explicit(&nodes[slot], key, memory_order_release);
            i = (int)slot;
        }
        pthread_mutex_unlock(&nodes_lock);
    }
    if (i < 0)
        return AX_ESYSLIMIT;
    *index = (unsigned)i;
    return 0;
}

int ax_etf_set_node_name(const char *name, uint32_t creation)
{
    ax_term_t atom;
    int err;

    if (!name)
        return AX_EINVAL;
    err = ax_atom_intern(name, strlen(name), &atom);
    if (err)
        return err;
    pthread_mutex_lock(&nodes_lock);
    /* Release: as when adding a node. */
    atomic_store_explicit(&nodes[0], node_key(atom, creation),
                          memory_order_release);
    pthread_mutex_unlock(&nodes_lock);
    return 0;
}

/* --- Encoding: output ----------------------------------------------------- */

/* Pending work on the stack: two words each, the term and its kind. */
enum item { ITEM_TERM, ITEM_CELLS };

struct enc {
    uint8_t *buf; /* NULL: count only */
    size_t len;   /* bytes written (or counted) */
    unsigned flags;
    struct tstack todo; /* items, last to encode at the bottom */
};

static void put(struct enc *e, const void *src, size_t n)
{
    if (e->buf)
        memcpy(e->buf + e->len, src, n);
    e->len += n;
}

/* v as a big-endian field of n bytes. */
static void put_be(struct enc *e, uint64_t v, size_t n)
{
    uint8_t b[8];

    for (size_t i = n; i-- > 0; v >>= 8)
        b[i] = (uint8_t)v;
    put(e, b, n);
}

static void put8(struct enc *e, unsigned v)
{
    put_be(e, v, 1);
}

static bool push_item(struct enc *e, ax_term_t t, enum item kind)
{
    return tstack_push(&e->todo, t) && tstack_push(&e->todo, kind);
}

/* A length that must fit the format's 32-bit fields. */
static bool fits32(size_t n)
{
    return n <= UINT32_MAX;
}

/* --- Encoding: one term --------------------------------------------------- */

static void put_latin1_atom(struct enc *e, const char *text, size_t len)
{
    uint8_t buf[AX_ATOM_MAX_CHARS];
    size_t n = 0;

    for (size_t i = 0; i < len; n++) {
        uint32_t cp;
        size_t k = ax__utf8_decode((const uint8_t *)text + i, len - i, &cp);

        ax_assert(k > 0 && cp <= 0xFF && n < sizeof(buf));
        buf[n] = (uint8_t)cp;
        i += k;
    }
    put8(e, ATOM_EXT);
    put_be(e, n, 2);
    put(e, buf, n);
}

static int enc_atom(struct enc *e, ax_term_t t)
{
    size_t len;
    const char *text = ax_atom_text(t, &len);

    if (!text)
        return AX_EBADARG;
    if (!(e->flags & AX_ETF_UTF8_ATOMS) && ax__atom_is_latin1(t)) {
        put_latin1_atom(e, text, len);
        return 0;
    }
    if (len <= UINT8_MAX) {
        put8(e, SMALL_ATOM_UTF8_EXT);
        put8(e, (unsigned)len);
    } else {
        put8(e, ATOM_UTF8_EXT);
        put_be(e, len, 2);
    }
    put(e, text, len);
    return 0;
}

static int enc_int(struct enc *e, ax_term_t t)
{
    int64_t v;
    uint64_t mag;
    uint8_t digits[8];
    unsigned n = 0;

    ax_get_int(t, &v);
    if (v >= 0 && v <= UINT8_MAX) {
        put8(e, SMALL_INTEGER_EXT);
        put8(e, (unsigned)v);
        return 0;
    }
    if (v >= INT32_MIN && v <= INT32_MAX) {
        put8(e, INTEGER_EXT);
        put_be(e, (uint32_t)v, 4);
        return 0;
    }
    /* SMALL_BIG_EXT: the magnitude in as few little-endian bytes as it
     * takes (INT64_MIN's is 2^63, which uint64_t holds). */
    mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    for (; mag; mag >>= 8)
        digits[n++] = (uint8_t)mag;
    put8(e, SMALL_BIG_EXT);
    put8(e, n);
    put8(e, v < 0);
    put(e, digits, n);
    return 0;
}

static int enc_float(struct enc *e, ax_term_t t)
{
    double d = float_value(t);
    uint64_t bits;

    memcpy(&bits, &d, sizeof(bits));
    put8(e, NEW_FLOAT_EXT);
    put_be(e, bits, 8);
    return 0;
}

/* The node's name atom and its creation (creation follows the name). */
static int enc_node(struct enc *e, unsigned node, uint32_t *creation)
{
    ax_term_t name;

    if (!ax__etf_node(node, &name, creation))
        return AX_EBADARG;
    return enc_atom(e, name);
}

static int enc_pid(struct enc *e, ax_term_t t)
{
    uint32_t creation;
    int err;

    put8(e, NEW_PID_EXT);
    err = enc_node(e, pid_node(t), &creation);
    if (err)
        return err;
    put_be(e, pid_number(t), 4);
    put_be(e, pid_serial(t), 4);
    put_be(e, creation, 4);
    return 0;
}

static int enc_ref(struct enc *e, ax_term_t t)
{
    unsigned n = ref_nwords(t);
    uint32_t creation;
    int err;

    put8(e, NEWER_REFERENCE_EXT);
    put_be(e, n, 2);
    err = enc_node(e, ref_node(t), &creation);
    if (err)
        return err;
    put_be(e, creation, 4);
    for (unsigned i = 0; i < n; i++)
        put_be(e, ref_word(t, i), 4);
    return 0;
}

static int enc_nil(struct enc *e, ax_term_t t)
{
    (void)t;
    put8(e, NIL_EXT);
    return 0;
}

static int enc_binary(struct enc *e, ax_term_t t)
{
    size_t len;
    const uint8_t *data = ax_binary_data(t, &len);

    if (!fits32(len))
        return AX_ESYSLIMIT;
    put8(e, BINARY_EXT);
    put_be(e, len, 4);
    put(e, data, len);
    return 0;
}

static int enc_tuple(struct enc *e, ax_term_t t)
{
    size_t n = tuple_arity(t);

    if (!fits32(n))
        return AX_ESYSLIMIT;
    if (n <= UINT8_MAX) {
        put8(e, SMALL_TUPLE_EXT);
        put8(e, (unsigned)n);
    } else {
        put8(e, LARGE_TUPLE_EXT);
        put_be(e, n, 4);
    }
    if (!ax__tstack_reserve(&e->todo, 2 * n))
        return AX_ENOMEM;
    for (size_t i = n; i-- > 0;)
        push_item(e, tuple_elems(t)[i], ITEM_TERM);
    return 0;
}

static int enc_map(struct enc *e, ax_term_t t)
{
    size_t n = map_count(t);

    if (!fits32(n))
        return AX_ESYSLIMIT;
    put8(e, MAP_EXT);
    put_be(e, n, 4);
    if (!ax__tstack_reserve(&e->todo, 4 * n))
        return AX_ENOMEM;
    for (size_t i = n; i-- > 0;) {
        push_item(e, map_vals(t)[i], ITEM_TERM);
        push_item(e, map_keys(t)[i], ITEM_TERM);
    }
    return 0;
}

static bool is_byte(ax_term_t t)
{
    return term_is_small(t) && small_value(t) >= 0 &&
           small_value(t) <= UINT8_MAX;
}

/* A proper list of bytes shorter than STRING_EXT_LIMIT is STRING_EXT;
 * any other list is LIST_EXT: the count of cells, each head, the tail. */
static int enc_list(struct enc *e, ax_term_t t)
{
    size_t n = 0;
    bool bytes = true;
    ax_term_t rest;

    for (rest = t; term_is_cons(rest); rest = cons_cell(rest)[1]) {
        bytes = bytes && is_byte(cons_cell(rest)[0]);
        n++;
    }
    if (rest == AX_NIL && bytes && n < STRING_EXT_LIMIT) {
        put8(e, STRING_EXT);
        put_be(e, n, 2);
        for (rest = t; term_is_cons(rest); rest = cons_cell(rest)[1])
            put8(e, (unsigned)small_value(cons_cell(rest)[0]));
        return 0;
    }
    if (!fits32(n))
        return AX_ESYSLIMIT;
    put8(e, LIST_EXT);
    put_be(e, n, 4);
    return push_item(e, t, ITEM_CELLS) ? 0 : AX_ENOMEM;
}

static int (*const encoders[])(struct enc *e, ax_term_t t) = {
    [AX_T_INT] = enc_int,   [AX_T_FLOAT] = enc_float,
    [AX_T_ATOM] = enc_atom, [AX_T_REF] = enc_ref,
    [AX_T_PID] = enc_pid,   [AX_T_TUPLE] = enc_tuple,
    [AX_T_MAP] = enc_map,   [AX_T_NIL] = enc_nil,
    [AX_T_LIST] = enc_list, [AX_T_BINARY] = enc_binary,
};

static int enc_term(struct enc *e, ax_term_t t)
{
    size_t type = ax_typeof(t);

    if (type >= sizeof(encoders) / sizeof(encoders[0]) || !encoders[type])
        return AX_EBADARG;
    return encoders[type](e, t);
}

/* The head of cell t, after pushing what follows it: the next cell, or
 * the tail that ends a LIST_EXT. */
static int enc_cell(struct enc *e, ax_term_t t)
{
    ax_term_t tail = cons_cell(t)[1];

    if (!push_item(e, tail, term_is_cons(tail) ? ITEM_CELLS : ITEM_TERM))
        return AX_ENOMEM;
    return enc_term(e, cons_cell(t)[0]);
}

static int encode(struct enc *e, ax_term_t t)
{
    enum item kind = ITEM_TERM;
    int err;

    tstack_init(&e->todo);
    put8(e, VERSION_MAGIC);
    for (;;) {
        err = kind == ITEM_CELLS ? enc_cell(e, t) : enc_term(e, t);
        if (err || tstack_empty(&e->todo))
            break;
        kind = (enum item)tstack_pop(&e->todo);
        t = tstack_pop(&e->todo);
    }
    tstack_destroy(&e->todo);
    return err;
}

ptrdiff_t ax_etf_size(ax_term_t t, unsigned flags)
{
    struct enc e = {.flags = flags};
    int err = encode(&e, t);

    if (err)
        return err;
    return e.len > PTRDIFF_MAX ? AX_ESYSLIMIT : (ptrdiff_t)e.len;
}

int ax_etf_encode(ax_term_t t, unsigned flags, uint8_t **out, size_t *len)
{
    ptrdiff_t size = ax_etf_size(t, flags);
    struct enc e = {.flags = flags};
    int err;

    if (size < 0)
        return (int)size;
    e.buf = ax__malloc((size_t)size);
    if (!e.buf)
        return AX_ENOMEM;
    err = encode(&e, t);
    if (err) {
        ax__free(e.buf);
        return err;
    }
    ax_assert(e.len == (size_t)size);
    *out = e.buf;
    *len = e.len;
    return 0;
}

/* --- Decoding: input ------------------------------------------------------ */

/* Open containers: a frame is two words on the frame stack, the position
 * of its first element on the value stack and want << 2 | kind, want
 * being the number of values it is built from. */
enum frame_kind { FRAME_TUPLE, FRAME_LIST, FRAME_MAP };

struct dec {
    ax_heap_t *h;
    const uint8_t *p; /* next byte to read */
    const uint8_t *end;
    struct tstack vals; /* finished terms, not yet in a container */
    struct tstack frames;
};

static size_t bytes_left(const struct dec *d)
{
    return (size_t)(d->end - d->p);
}

/* The next n bytes, consumed; NULL if fewer are left. */
static const uint8_t *take(struct dec *d, size_t n)
{
    const uint8_t *p = d->p;

    if (bytes_left(d) < n)
        return NULL;
    d->p += n;
    return p;
}

/* An unsigned big-endian field of n (<= 8) bytes; false if truncated. */
static bool get_uint(struct dec *d, size_t n, uint64_t *out)
{
    const uint8_t *p = take(d, n);

    if (!p)
        return false;
    *out = 0;
    for (size_t i = 0; i < n; i++)
        *out = *out << 8 | p[i];
    return true;
}

/* Pushes a finished term; AX_NONE is a constructor's out of memory. */
static int push_val(struct dec *d, ax_term_t t)
{
    if (t == AX_NONE || !tstack_push(&d->vals, t))
        return AX_ENOMEM;
    return 0;
}

struct tag_info;
typedef int decode_fn(struct dec *d, const struct tag_info *ti);

/* How to decode a tag. */
struct tag_info {
    decode_fn *decode;
    uint8_t width; /* bytes of its length, arity, count or creation */
    bool latin1;   /* atoms: Latin-1 text, else UTF-8 */
};

static const struct tag_info tags[256];

/* --- Decoding: scalars ---------------------------------------------------- */

static int dec_integer(struct dec *d, const struct tag_info *ti)
{
    uint64_t u;

    if (!get_uint(d, ti->width, &u))
        return AX_EBADETF;
    /* INTEGER_EXT is signed 32-bit; SMALL_INTEGER_EXT an unsigned byte. */
    return push_val(
        d, make_small(ti->width == 4 ? (int32_t)(uint32_t)u : (int64_t)u));
}

/* SMALL_BIG_EXT and LARGE_BIG_EXT: n, sign, n little-endian digits.
 * Leading zero digits are allowed (as OTP); a value beyond int64 is not. */
static int dec_big(struct dec *d, const struct tag_info *ti)
{
    uint64_t n;
    uint64_t sign;
    uint64_t mag = 0;
    const uint8_t *digits;

    if (!get_uint(d, ti->width, &n) || !get_uint(d, 1, &sign) ||
        !(digits = take(d, n)))
        return AX_EBADETF;
    for (size_t i = n; i-- > 0;) {
        if (mag >> 56)
            return AX_EBADETF;
        mag = mag << 8 | digits[i];
    }
    if (mag > (sign ? UINT64_C(1) << 63 : (uint64_t)INT64_MAX))
        return AX_EBADETF;
    return push_val(d, ax_int(d->h, sign ? (int64_t)(0 - mag) : (int64_t)mag));
}

static int push_float(struct dec *d, double v)
{
    if (!isfinite(v))
        return AX_EBADETF;
    return push_val(d, ax__make_float(d->h, v));
}

static int dec_new_float(struct dec *d, const struct tag_info *ti)
{
    uint64_t bits;
    double v;

    (void)ti;
    if (!get_uint(d, 8, &bits))
        return AX_EBADETF;
    memcpy(&v, &bits, sizeof(v));
    return push_float(d, v);
}

/* Past the digits at s; NULL if there are none. */
static const char *skip_digits(const char *s)
{
    const char *start = s;

    while (*s >= '0' && *s <= '9')
        s++;
    return s == start ? NULL : s;
}

/* True if s is a float as OTP accepts it in FLOAT_EXT:
 * [+-]digits.digits[e[+-]digits], then the end of the string. */
static bool float_text_ok(const char *s)
{
    s += *s == '+' || *s == '-';
    if (!(s = skip_digits(s)) || *s++ != '.' || !(s = skip_digits(s)))
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        s += *s == '+' || *s == '-';
        if (!(s = skip_digits(s)))
            return false;
    }
    return *s == '\0';
}

static int dec_old_float(struct dec *d, const struct tag_info *ti)
{
    const uint8_t *p = take(d, FLOAT_EXT_SIZE);
    char text[FLOAT_EXT_SIZE + 1];

    (void)ti;
    if (!p)
        return AX_EBADETF;
    memcpy(text, p, FLOAT_EXT_SIZE);
    text[FLOAT_EXT_SIZE] = '\0';
    if (!float_text_ok(text))
        return AX_EBADETF;
    return push_float(d, ax__strtod(text, NULL));
}

/* The atom of an ATOM_EXT, SMALL_ATOM_EXT, ATOM_UTF8_EXT or
 * SMALL_ATOM_UTF8_EXT whose tag has been read. */
static int atom_body(struct dec *d, const struct tag_info *ti, ax_term_t *out)
{
    uint64_t len;
    const uint8_t *text;
    size_t nchars;

    if (!get_uint(d, ti->width, &len) || !(text = take(d, len)))
        return AX_EBADETF;
    if (ti->latin1)
        return len > AX_ATOM_MAX_CHARS ? AX_EBADETF
                                       : ax__atom_intern_latin1(text, len, out);
    if (!ax__utf8_valid(text, len, &nchars) || nchars > AX_ATOM_MAX_CHARS)
        return AX_EBADETF;
    return ax_atom_intern((const char *)text, len, out);
}

static int dec_atom(struct dec *d, const struct tag_info *ti)
{
    ax_term_t atom;
    int err = atom_body(d, ti, &atom);

    return err ? err : push_val(d, atom);
}

/* A pid's or a reference's node: an atom in any of the atom tags. */
static int read_node_name(struct dec *d, ax_term_t *out)
{
    const uint8_t *tag = take(d, 1);

    if (!tag || tags[*tag].decode != dec_atom)
        return AX_EBADETF;
    return atom_body(d, &tags[*tag], out);
}

/* NEW_PID_EXT and PID_EXT (whose creation is one byte). */
static int dec_pid(struct dec *d, const struct tag_info *ti)
{
    ax_term_t name;
    uint64_t number;
    uint64_t serial;
    uint64_t creation;
    unsigned node;
    int err = read_node_name(d, &name);

    if (err)
        return err;
    if (!get_uint(d, 4, &number) || !get_uint(d, 4, &serial) ||
        !get_uint(d, ti->width, &creation) || number > PID_NUMBER_MAX ||
        serial > PID_SERIAL_MAX)
        return AX_EBADETF;
    err = ax__etf_node_index(name, (uint32_t)creation, &node);
    return err ? err : push_val(d, make_pid(node, number, serial));
}

static int push_ref(struct dec *d, ax_term_t name, uint64_t creation,
                    unsigned n, const uint32_t *words)
{
    unsigned node;
    int err = ax__etf_node_index(name, (uint32_t)creation, &node);

    return err ? err : push_val(d, ax__make_ref(d->h, node, n, words));
}

/* NEWER_REFERENCE_EXT and NEW_REFERENCE_EXT (one-byte creation): Len,
 * node, creation, Len ID words. */
static int dec_ref(struct dec *d, const struct tag_info *ti)
{
    uint64_t n;
    uint64_t creation;
    ax_term_t name;
    uint32_t words[REF_WORDS_MAX];
    int err;

    if (!get_uint(d, 2, &n) || n < 1 || n > REF_WORDS_MAX)
        return AX_EBADETF;
    err = read_node_name(d, &name);
    if (err)
        return err;
    if (!get_uint(d, ti->width, &creation))
        return AX_EBADETF;
    for (unsigned i = 0; i < n; i++) {
        uint64_t w;

        if (!get_uint(d, 4, &w))
            return AX_EBADETF;
        words[i] = (uint32_t)w;
    }
    return push_ref(d, name, creation, (unsigned)n, words);
}

/* REFERENCE_EXT: node, one ID word, a one-byte creation. */
static int dec_old_ref(struct dec *d, const struct tag_info *ti)
{
    ax_term_t name;
    uint64_t id;
    uint64_t creation;
    uint32_t word;
    int err = read_node_name(d, &name);

    (void)ti;
    if (err)
        return err;
    if (!get_uint(d, 4, &id) || !get_uint(d, 1, &creation))
        return AX_EBADETF;
    word = (uint32_t)id;
    return push_ref(d, name, creation, 1, &word);
}

static int dec_nil(struct dec *d, const struct tag_info *ti)
{
    (void)ti;
    return push_val(d, AX_NIL);
}

/* STRING_EXT: a proper list of bytes, built from its last cell. */
static int dec_string(struct dec *d, const struct tag_info *ti)
{
    uint64_t n;
    const uint8_t *bytes;
    ax_term_t list = AX_NIL;

    (void)ti;
    if (!get_uint(d, 2, &n) || !(bytes = take(d, n)))
        return AX_EBADETF;
    for (size_t i = n; i-- > 0 && list != AX_NONE;)
        list = ax_cons(d->h, make_small(bytes[i]), list);
    return push_val(d, list);
}

static int dec_binary(struct dec *d, const struct tag_info *ti)
{
    uint64_t n;
    const uint8_t *bytes;
    uint8_t *data;
    ax_term_t bin;

    (void)ti;
    if (!get_uint(d, 4, &n) || !(bytes = take(d, n)))
        return AX_EBADETF;
    bin = ax__make_binary(d->h, n, &data);
    if (bin != AX_NONE && n)
        memcpy(data, bytes, n);
    return push_val(d, bin);
}

/* --- Decoding: containers ------------------------------------------------- */

static int open_frame(struct dec *d, enum frame_kind kind, uint64_t want)
{
    if (!ax__tstack_reserve(&d->frames, 2))
        return AX_ENOMEM;
    tstack_push(&d->frames, d->vals.len);
    tstack_push(&d->frames, want << 2 | kind);
    return 0;
}

/* Tuples: n elements, each at least a byte. */
static int dec_tuple(struct dec *d, const struct tag_info *ti)
{
    uint64_t n;

    if (!get_uint(d, ti->width, &n) || n > bytes_left(d))
        return AX_EBADETF;
    return open_frame(d, FRAME_TUPLE, n);
}

/* LIST_EXT: n elements and a tail. With n = 0 it is just the tail, as
 * OTP takes it. */
static int dec_list(struct dec *d, const struct tag_info *ti)
{
    uint64_t n;

    if (!get_uint(d, ti->width, &n) || n >= bytes_left(d))
        return AX_EBADETF;
    return open_frame(d, FRAME_LIST, n + 1);
}

/* MAP_EXT: n keys and n values, interleaved. */
static int dec_map(struct dec *d, const struct tag_info *ti)
{
    uint64_t n;

    if (!get_uint(d, ti->width, &n) || n > bytes_left(d) / 2)
        return AX_EBADETF;
    return open_frame(d, FRAME_MAP, 2 * n);
}

static int build_tuple(ax_heap_t *h, const ax_term_t *vals, size_t n,
                       ax_term_t *out)
{
    ax_term_t *elems;

    *out = ax__make_tuple(h, n, &elems);
    if (*out == AX_NONE)
        return AX_ENOMEM;
    if (n)
        memcpy(elems, vals, n * sizeof(*elems));
    return 0;
}

/* vals: the elements, then the tail. */
static int build_list(ax_heap_t *h, const ax_term_t *vals, size_t n,
                      ax_term_t *out)
{
    ax_term_t list = vals[n - 1];

    for (size_t i = n - 1; i-- > 0 && list != AX_NONE;)
        list = ax_cons(h, vals[i], list);
    *out = list;
    return list == AX_NONE ? AX_ENOMEM : 0;
}

/* vals: key, value, key, value... A repeated key is malformed, as
 * binary_to_term/1 has it. */
static int build_map(ax_heap_t *h, const ax_term_t *vals, size_t n,
                     ax_term_t *out)
{
    size_t pairs = n / 2;
    ax_term_t *scratch = ax__malloc_array(n, sizeof(*scratch));

    if (!scratch)
        return AX_ENOMEM;
    for (size_t i = 0; i < pairs; i++) {
        scratch[i] = vals[2 * i];
        scratch[pairs + i] = vals[2 * i + 1];
    }
    *out = ax__make_map(h, pairs, scratch, scratch + pairs);
    ax__free(scratch);
    if (*out == AX_NONE)
        return AX_ENOMEM;
    return map_count(*out) == pairs ? 0 : AX_EBADETF;
}

static int (*const builders[])(ax_heap_t *h, const ax_term_t *vals, size_t n,
                               ax_term_t *out) = {
    [FRAME_TUPLE] = build_tuple,
    [FRAME_LIST] = build_list,
    [FRAME_MAP] = build_map,
};

/* Builds every open container whose values are all there, innermost
 * first, replacing its values by the container. */
static int close_frames(struct dec *d)
{
    while (!tstack_empty(&d->frames)) {
        const uint64_t *f = d->frames.items + d->frames.len - 2;
        size_t base = f[0];
        size_t want = f[1] >> 2;
        ax_term_t t;
        int err;

        if (d->vals.len - base < want)
            return 0;
        err = builders[f[1] & 3](d->h, d->vals.items + base, want, &t);
        if (err)
            return err;
        d->vals.len = base;
        tstack_push(&d->vals, t); /* cannot fail: it had room for want */
        d->frames.len -= 2;
    }
    return 0;
}

static const struct tag_info tags[256] = {
    [SMALL_INTEGER_EXT] = {dec_integer, 1, false},
    [INTEGER_EXT] = {dec_integer, 4, false},
    [SMALL_BIG_EXT] = {dec_big, 1, false},
    [LARGE_BIG_EXT] = {dec_big, 4, false},
    [NEW_FLOAT_EXT] = {dec_new_float, 0, false},
    [FLOAT_EXT] = {dec_old_float, 0, false},
    [ATOM_EXT] = {dec_atom, 2, true},
    [SMALL_ATOM_EXT] = {dec_atom, 1, true},
    [ATOM_UTF8_EXT] = {dec_atom, 2, false},
    [SMALL_ATOM_UTF8_EXT] = {dec_atom, 1, false},
    [NEW_PID_EXT] = {dec_pid, 4, false},
    [PID_EXT] = {dec_pid, 1, false},
    [NEWER_REFERENCE_EXT] = {dec_ref, 4, false},
    [NEW_REFERENCE_EXT] = {dec_ref, 1, false},
    [REFERENCE_EXT] = {dec_old_ref, 0, false},
    [NIL_EXT] = {dec_nil, 0, false},
    [STRING_EXT] = {dec_string, 2, false},
    [BINARY_EXT] = {dec_binary, 4, false},
    [SMALL_TUPLE_EXT] = {dec_tuple, 1, false},
    [LARGE_TUPLE_EXT] = {dec_tuple, 4, false},
    [LIST_EXT] = {dec_list, 4, false},
    [MAP_EXT] = {dec_map, 4, false},
};

/* Decodes terms until the first one (and everything in it) is complete;
 * it is then alone on the value stack. */
static int decode_terms(struct dec *d)
{
    int err;

    do {
        const uint8_t *tag = take(d, 1);

        if (!tag || !tags[*tag].decode)
            return AX_EBADETF;
        err = tags[*tag].decode(d, &tags[*tag]);
        if (!err)
            err = close_frames(d);
        if (err)
            return err;
    } while (!tstack_empty(&d->frames));
    return 0;
}

int ax_etf_decode(ax_heap_t *h, const uint8_t *buf, size_t len, ax_term_t *out,
                  size_t *used)
{
    struct dec d;
    int err;

    if (len < 1 || buf[0] != VERSION_MAGIC)
        return AX_EBADETF;
    d.h = h;
    d.p = buf + 1;
    d.end = buf + len;
    tstack_init(&d.vals);
    tstack_init(&d.frames);
    err = decode_terms(&d);
    if (!err) {
        *out = d.vals.items[0];
        if (used)
            *used = (size_t)(d.p - buf);
    }
    tstack_destroy(&d.frames);
    tstack_destroy(&d.vals);
    return err;
}
