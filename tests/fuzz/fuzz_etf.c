/*
 * fuzz_etf.c - libFuzzer target for the External Term Format decoder.
 *
 * Any input may be refused, but never with a crash, a hang or a runaway
 * allocation; and whatever decodes must survive the round trip: it
 * encodes, decodes again to a term =:= to the first, and that term
 * encodes to the very same bytes (with both atom encodings).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ax.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encodes t with flags, decodes the bytes back and encodes that again. */
static void round_trip(ax_heap_t *h, ax_term_t t, unsigned flags)
{
    uint8_t *first;
    uint8_t *second;
    size_t first_len;
    size_t second_len;
    size_t used;
    ax_term_t back;

    if (ax_etf_encode(t, flags, &first, &first_len) != 0)
        __builtin_trap();
    if (ax_etf_size(t, flags) != (ptrdiff_t)first_len ||
        ax_etf_decode(h, first, first_len, &back, &used) != 0 ||
        used != first_len || !ax_equal_exact(back, t))
        __builtin_trap();
    if (ax_etf_encode(back, flags, &second, &second_len) != 0 ||
        second_len != first_len || memcmp(first, second, first_len) != 0)
        __builtin_trap();
    free(first);
    free(second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ax_heap_t *h = ax_heap_new();
    ax_term_t t;
    size_t used;

    if (!h)
        return 0;
    if (ax_etf_decode(h, data, size, &t, &used) == 0) {
        if (used > size)
            __builtin_trap();
        round_trip(h, t, 0);
        round_trip(h, t, AX_ETF_UTF8_ATOMS);
    }
    ax_heap_free(h);
    return 0;
}
