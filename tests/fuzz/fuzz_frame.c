/*
 * fuzz_frame.c - libFuzzer target for the control socket's frame reader
 * and decoder (runtime/node/frame.c), fed as the node's I/O thread feeds
 * them: bytes in chunks of any size, each whole frame decoded as one
 * term.
 *
 * Any input may be refused, but never with a crash, a hang or a runaway
 * allocation; a frame that decodes must encode back to a frame that
 * decodes to an equal term, and the reader must take every byte it is
 * given until it refuses.
 */
#include <stdint.h>
#include <stdlib.h>

#include "ax.h"
#include "node/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Re-encodes t and checks the frame reads back to an equal term. */
static void round_trip(ax_heap_t *h, ax_term_t t)
{
    struct frame_reader r;
    uint8_t *frame;
    uint8_t *body;
    size_t len;
    size_t blen;
    size_t used;
    ax_term_t back;

    if (ax__frame_encode(t, &frame, &len) != 0)
        return; /* too big for a frame: refused, as the node does */
    ax__frame_reader_init(&r);
    if (ax__frame_feed(&r, frame, len, &used) != 1 || used != len)
        __builtin_trap();
    ax__frame_take(&r, &body, &blen);
    if (ax__frame_decode(h, body, blen, &back) != 0 ||
        !ax_equal_exact(back, t))
        __builtin_trap();
    free(body);
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct frame_reader r;
    size_t chunk;

    if (size < 1)
        return 0;
    /* The first byte chooses the chunk size the socket gives. */
    chunk = (size_t)data[0] % 16 + 1;
    data++;
    size--;
    ax__frame_reader_init(&r);
    while (size > 0) {
        size_t n = size < chunk ? size : chunk;
        size_t used;
        int res = ax__frame_feed(&r, data, n, &used);

        if (used > n || (res == 0 && used != n))
            __builtin_trap();
        data += used;
        size -= used;
        if (res < 0)
            break;
        if (res == 1) {
            ax_heap_t *h = ax_heap_new();
            uint8_t *body;
            size_t len;
            ax_term_t t;

            ax__frame_take(&r, &body, &len);
            if (len == 0 || len > AX_FRAME_MAX)
                __builtin_trap();
            if (h && ax__frame_decode(h, body, len, &t) == 0)
                round_trip(h, t);
            free(body);
            ax_heap_free(h);
        }
    }
    ax__frame_reader_destroy(&r);
    return 0;
}
