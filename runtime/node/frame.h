/*
 * frame.h - the control socket's frames: a 4-byte big-endian length, then
 * that many bytes holding one term in the External Term Format.
 *
 * The reader is incremental (bytes come as the socket gives them) and
 * pure (no I/O), so the fuzz target drives it as the node does. A frame
 * of length zero or over AX_FRAME_MAX is refused as soon as its header
 * is read, before anything is allocated for it.
 */
#ifndef AX_NODE_FRAME_H
#define AX_NODE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "../ax.h"

struct frame_reader {
    uint8_t hdr[4];
    size_t hdr_have;   /* header bytes read */
    uint32_t len;      /* the body's length, once the header is whole */
    uint8_t *body;     /* len bytes, allocated once the header is whole */
    size_t have;       /* body bytes read */
};

/* A reader with nothing read. */
void ax__frame_reader_init(struct frame_reader *r);
/* Frees what r holds. */
void ax__frame_reader_destroy(struct frame_reader *r);
/* True if r holds part of a frame (a peer that stops now vanished
 * mid-frame). */
bool ax__frame_reader_partial(const struct frame_reader *r);

/*
 * Feeds data[0..n) to r; *used gets how many bytes it took. Returns 1
 * when a frame is whole (its body is taken with ax__frame_take before
 * feeding more), 0 when more is needed, AX_EPROTO for a length of zero
 * or over AX_FRAME_MAX, AX_ENOMEM.
 */
int ax__frame_feed(struct frame_reader *r, const uint8_t *data, size_t n,
                   size_t *used);
/* Hands the whole frame's body to the caller (who frees it) and resets
 * r for the next frame. */
void ax__frame_take(struct frame_reader *r, uint8_t **body, size_t *len);

/* Decodes a body that must hold exactly one term, onto h. Errors:
 * AX_EPROTO (malformed, or bytes left over), AX_ENOMEM, AX_ESYSLIMIT. */
int ax__frame_decode(ax_heap_t *h, const uint8_t *body, size_t len,
                     ax_term_t *out);
/* The frame (header and body) of t, in a buffer the caller frees.
 * Errors: AX_EPROTO (t too big for a frame), AX_ENOMEM, AX_EBADARG. */
int ax__frame_encode(ax_term_t t, uint8_t **out, size_t *len);

#endif /* AX_NODE_FRAME_H */
