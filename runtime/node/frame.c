/*
 * frame.c - reading and writing the control socket's frames (frame.h).
 */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

void ax__frame_reader_init(struct frame_reader *r)
{
    memset(r, 0, sizeof(*r));
}

void ax__frame_reader_destroy(struct frame_reader *r)
{
    free(r->body);
    ax__frame_reader_init(r);
}

bool ax__frame_reader_partial(const struct frame_reader *r)
{
    return r->hdr_have > 0;
}

/* Takes header bytes; once whole, checks the length and makes room. */
static int feed_header(struct frame_reader *r, const uint8_t *data,
                       size_t n, size_t *used)
{
    size_t k = 4 - r->hdr_have;

    if (k > n)
        k = n;
    memcpy(r->hdr + r->hdr_have, data, k);
    r->hdr_have += k;
    *used = k;
    if (r->hdr_have < 4)
        return 0;
    r->len = (uint32_t)r->hdr[0] << 24 | (uint32_t)r->hdr[1] << 16 |
             (uint32_t)r->hdr[2] << 8 | r->hdr[3];
    if (r->len == 0 || r->len > AX_FRAME_MAX)
        return AX_EPROTO;
    r->body = malloc(r->len);
    return r->body ? 0 : AX_ENOMEM;
}

int ax__frame_feed(struct frame_reader *r, const uint8_t *data, size_t n,
                   size_t *used)
{
    size_t k = 0;
    int err;

    *used = 0;
    if (r->hdr_have < 4) {
        err = feed_header(r, data, n, &k);
        *used = k;
        if (err || r->hdr_have < 4)
            return err;
    }
    data += k;
    n -= k;
    k = r->len - r->have;
    if (k > n)
        k = n;
    memcpy(r->body + r->have, data, k);
    r->have += k;
    *used += k;
    return r->have == r->len;
}

void ax__frame_take(struct frame_reader *r, uint8_t **body, size_t *len)
{
    *body = r->body;
    *len = r->len;
    r->body = NULL;
    ax__frame_reader_init(r);
}

int ax__frame_decode(ax_heap_t *h, const uint8_t *body, size_t len,
                     ax_term_t *out)
{
    size_t used = 0;
    int err = ax_etf_decode(h, body, len, out, &used);

    if (err == AX_EBADETF || (!err && used != len))
        return AX_EPROTO;
    return err;
}

int ax__frame_encode(ax_term_t t, uint8_t **out, size_t *len)
{
    ptrdiff_t size = ax_etf_size(t, AX_ETF_UTF8_ATOMS);
    uint8_t *buf;
    uint8_t *etf;
    size_t elen;
    int err;

    if (size < 0)
        return (int)size;
    if ((size_t)size > AX_FRAME_MAX)
        return AX_EPROTO;
    err = ax_etf_encode(t, AX_ETF_UTF8_ATOMS, &etf, &elen);
    if (err)
        return err;
    buf = malloc(elen + 4);
    if (!buf) {
        free(etf);
        return AX_ENOMEM;
    }
    buf[0] = (uint8_t)(elen >> 24);
    buf[1] = (uint8_t)(elen >> 16);
    buf[2] = (uint8_t)(elen >> 8);
    buf[3] = (uint8_t)elen;
    memcpy(buf + 4, etf, elen);
    free(etf);
    *out = buf;
    *len = elen + 4;
    return 0;
}
