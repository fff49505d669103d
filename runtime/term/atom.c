/*
 * atom.c - the global atom table (atom.h).
 *
 * Two structures, both append-only, so that readers never lock:
 * - by number: a two-level array of entry pointers (chunks of 4096), so
 *   growth never moves an entry; a reader loads the chunk and the entry
 *   with acquire, pairing with the creator's release stores;
 * - by text: an open-addressing hash table of atom numbers plus one, sized
 *   at first use to twice the limit so it never resizes; a slot, once set,
 *   never changes, so a lock-free probe that finds the text is final.
 * Creation takes one mutex, probes again, and publishes the entry before
 * the slot (release), so a reader that sees the slot sees the entry.
 */
#include "atom.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/alloc.h"
#include "../core/hash.h"
#include "../core/tls.h"
#include "../core/utf8.h"

#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define LIMIT_MAX (1u << 26)
#define HASH_SEED UINT64_C(0x61746f6d)

struct atom {
    uint64_t hash;
    uint32_t len;  /* bytes of UTF-8, without the NUL */
    bool latin1;   /* every code point below 256 */
    char text[];   /* NUL-terminated */
};

typedef _Atomic(struct atom *) atom_slot_t;

static _Atomic(atom_slot_t *) chunks[LIMIT_MAX / CHUNK_SIZE];
static _Atomic(uint32_t) *slots; /* atom number + 1; 0 is empty */
static size_t slot_mask;
static size_t limit = AX_ATOM_LIMIT_DEFAULT;
static atomic_size_t count;      /* release after publishing an atom */
/* Bytes of the atoms' entries and chunks (not the slots, made once at the
 * limit's size and touched sparsely); written under create_lock, read by
 * anyone: relaxed, a figure for display. */
static atomic_size_t table_bytes;
static atomic_bool initialised;  /* set once, after the builtins exist */
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const builtin_names[] = {
#define ATOM_NAME_(id, text) text,
    AX_ATOM_LIST(ATOM_NAME_)
#undef ATOM_NAME_
};

static struct atom *entry_of(uint64_t index)
{
    atom_slot_t *chunk;

    if (index >= atomic_load_explicit(&count, memory_order_acquire))
        return NULL;
    chunk = atomic_load_explicit(&chunks[index >> CHUNK_BITS],
                                 memory_order_acquire);
    return atomic_load_explicit(&chunk[index & (CHUNK_SIZE - 1)],
                                memory_order_acquire);
}

/* The number of the atom with this text, or -1; *slot gets the slot
 * where it is, or the empty one where it would go. */
static int64_t probe(const char *text, size_t len, uint64_t hash,
                     size_t *slot)
{
    size_t i = (size_t)hash & slot_mask;

    for (;;) {
        uint32_t s = atomic_load_explicit(&slots[i], memory_order_acquire);
        struct atom *e;

        if (s == 0) {
            *slot = i;
            return -1;
        }
        e = entry_of(s - 1);
        if (e->hash == hash && e->len == len &&
            memcmp(e->text, text, len) == 0) {
            *slot = i;
            return (int64_t)s - 1;
        }
        i = (i + 1) & slot_mask;
    }
}

static bool text_is_latin1(const char *text, size_t len)
{
    const uint8_t *s = (const uint8_t *)text;

    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = ax__utf8_decode(s + i, len - i, &cp);

        if (n == 0 || cp > 0xFF)
            return false;
        i += n;
    }
    return true;
}

/* With create_lock held: counts bytes the table now holds. */
static void add_bytes(size_t n)
{
    size_t b = atomic_load_explicit(&table_bytes, memory_order_relaxed);

    atomic_store_explicit(&table_bytes, b + n, memory_order_relaxed);
}

/* Called with create_lock held: makes the atom, or finds it made. */
static int create(const char *text, size_t len, uint64_t hash,
                  ax_term_t *out)
{
    size_t slot;
    int64_t found = probe(text, len, hash, &slot);
    size_t n = atomic_load_explicit(&count, memory_order_relaxed);
    atom_slot_t *chunk;
    struct atom *e;

    if (found >= 0) {
        *out = make_atom((uint64_t)found);
        return 0;
    }
    if (n >= limit)
        return AX_ESYSLIMIT;
    chunk = atomic_load_explicit(&chunks[n >> CHUNK_BITS],
                                 memory_order_relaxed);
    if (!chunk) {
        chunk = ax__calloc(CHUNK_SIZE, sizeof(*chunk));
        if (!chunk)
            return AX_ENOMEM;
        atomic_store_explicit(&chunks[n >> CHUNK_BITS], chunk,
                              memory_order_release);
        add_bytes(CHUNK_SIZE * sizeof(*chunk));
    }
    e = ax__malloc(sizeof(*e) + len + 1);
    if (!e)
        return AX_ENOMEM;
    add_bytes(sizeof(*e) + len + 1);
    e->hash = hash;
    e->len = (uint32_t)len;
    e->latin1 = text_is_latin1(text, len);
    memcpy(e->text, text, len);
    e->text[len] = '\0';
    /* Entry, then count, then slot: each release orders what came before,
     * so whoever finds the slot or the number finds a complete entry. */
    atomic_store_explicit(&chunk[n & (CHUNK_SIZE - 1)], e,
                          memory_order_release);
    atomic_store_explicit(&count, n + 1, memory_order_release);
    atomic_store_explicit(&slots[slot], (uint32_t)(n + 1),
                          memory_order_release);
    *out = make_atom(n);
    return 0;
}

/* With create_lock held: the slots and the built-in atoms. A failure
 * leaves nothing behind, so a later call tries again. */
static int init_table(void)
{
    size_t cap = 1;
    int err = 0;

    while (cap < 2 * limit)
        cap <<= 1;
    slots = ax__calloc(cap, sizeof(*slots));
    if (!slots)
        return AX_ENOMEM;
    slot_mask = cap - 1;
    for (size_t i = 0; i < ATOM_BUILTIN_COUNT && !err; i++) {
        const char *name = builtin_names[i];
        size_t len = strlen(name);
        ax_term_t a;

        err = create(name, len, ax__hash_bytes(name, len, HASH_SEED), &a);
    }
    if (err) {
        for (size_t i = 0; i < atomic_load(&count); i++)
            ax__free(entry_of(i));
        atomic_store(&count, 0);
        ax__free(slots);
        slots = NULL;
        atomic_store_explicit(&table_bytes, 0, memory_order_relaxed);
        return err;
    }
    atomic_store_explicit(&initialised, true, memory_order_release);
    return 0;
}

static int ensure_init(void)
{
    int err = 0;

    if (atomic_load_explicit(&initialised, memory_order_acquire))
        return 0;
    pthread_mutex_lock(&create_lock);
    if (!atomic_load_explicit(&initialised, memory_order_relaxed))
        err = init_table();
    pthread_mutex_unlock(&create_lock);
    return err;
}

int ax_atom_set_limit(size_t n)
{
    if (atomic_load_explicit(&initialised, memory_order_acquire) ||
        n < ATOM_BUILTIN_COUNT || n > LIMIT_MAX)
        return AX_EINVAL;
    limit = n;
    return 0;
}

/* Checks text is an acceptable atom: UTF-8, at most 255 characters. */
static int check_text(const char *text, size_t len)
{
    size_t nchars;

    if (len > 4 * AX_ATOM_MAX_CHARS)
        return AX_ESYSLIMIT;
    if (!ax__utf8_valid((const uint8_t *)text, len, &nchars))
        return AX_EBADARG;
    return nchars > AX_ATOM_MAX_CHARS ? AX_ESYSLIMIT : 0;
}

int ax_atom_intern(const char *text, size_t len, ax_term_t *out)
{
    uint64_t hash;
    size_t slot;
    int64_t found;
    int err = ensure_init();

    if (!err)
        err = check_text(text, len);
    if (err)
        return err;
    hash = ax__hash_bytes(text, len, HASH_SEED);
    found = probe(text, len, hash, &slot);
    if (found >= 0) {
        *out = make_atom((uint64_t)found);
        return 0;
    }
    pthread_mutex_lock(&create_lock);
    err = create(text, len, hash, out);
    pthread_mutex_unlock(&create_lock);
    return err;
}

/*
 * ax_atom() is called with string literals in hot paths (a callback's
 * ax_atom("reply")). A small per-thread cache keyed by the string's
 * address skips the hashing; a hit is still checked against the atom's
 * text, so a reused address with other contents misses, never lies.
 */
#define LITERAL_CACHE 64

struct literal {
    const char *name;
    ax_term_t atom;
};

static AX_TLS struct literal literals[LITERAL_CACHE];

ax_term_t ax_atom(const char *name)
{
    struct literal *l =
        &literals[((uintptr_t)name >> 3) % LITERAL_CACHE];
    size_t len;
    const char *text;
    ax_term_t a;

    if (l->name == name) {
        text = ax_atom_text(l->atom, &len);
        if (strncmp(text, name, len) == 0 && name[len] == '\0')
            return l->atom;
    }
    if (ax_atom_intern(name, strlen(name), &a))
        return AX_NONE;
    l->name = name;
    l->atom = a;
    return a;
}

ax_term_t ax_atom_existing(const char *text, size_t len)
{
    size_t slot;
    int64_t found;

    if (ensure_init() || check_text(text, len))
        return AX_NONE;
    found = probe(text, len, ax__hash_bytes(text, len, HASH_SEED), &slot);
    return found < 0 ? AX_NONE : make_atom((uint64_t)found);
}

int ax__atom_intern_latin1(const uint8_t *text, size_t len, ax_term_t *out)
{
    uint8_t buf[2 * AX_ATOM_MAX_CHARS];
    size_t n = 0;

    if (len > AX_ATOM_MAX_CHARS)
        return AX_ESYSLIMIT;
    for (size_t i = 0; i < len; i++)
        n += ax__utf8_encode(text[i], buf + n);
    return ax_atom_intern((const char *)buf, n, out);
}

bool ax_is_atom(ax_term_t t)
{
    return term_is_atom(t);
}

const char *ax_atom_text(ax_term_t t, size_t *len)
{
    struct atom *e;

    if (!term_is_atom(t) || ensure_init())
        return NULL;
    e = entry_of(atom_index(t));
    if (!e)
        return NULL;
    if (len)
        *len = e->len;
    return e->text;
}

uint64_t ax__atom_hash(ax_term_t atom)
{
    struct atom *e = ensure_init() ? NULL : entry_of(atom_index(atom));

    return e ? e->hash : 0;
}

bool ax__atom_is_latin1(ax_term_t atom)
{
    struct atom *e = ensure_init() ? NULL : entry_of(atom_index(atom));

    return e && e->latin1;
}

int ax__atom_compare(ax_term_t a, ax_term_t b)
{
    struct atom *x;
    struct atom *y;
    int c;

    if (a == b || ensure_init())
        return 0;
    x = entry_of(atom_index(a));
    y = entry_of(atom_index(b));
    c = memcmp(x->text, y->text, x->len < y->len ? x->len : y->len);
    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

size_t ax_atom_count(void)
{
    if (ensure_init())
        return 0;
    return atomic_load_explicit(&count, memory_order_acquire);
}

size_t ax__atom_bytes(void)
{
    return atomic_load_explicit(&table_bytes, memory_order_relaxed);
}

size_t ax_atom_limit(void)
{
    return limit;
}

ax_term_t ax_bool(bool b)
{
    return b ? ATOM_TRUE : ATOM_FALSE;
}

bool ax_is_true(ax_term_t t)
{
    return t == ATOM_TRUE;
}
