/*
 * utf8.c - strict UTF-8 (utf8.h).
 */
#include "utf8.h"

size_t ax__utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
    uint32_t c;
    uint32_t min;
    size_t n;

    if (len == 0)
        return 0;
    c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        n = 2, c &= 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3, c &= 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return n;
}

size_t ax__utf8_encode(uint32_t cp, uint8_t *buf)
{
    if (cp < 0x80) {
        buf[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (uint8_t)(0xC0 | cp >> 6);
        buf[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0;
    if (cp < 0x10000) {
        buf[0] = (uint8_t)(0xE0 | cp >> 12);
        buf[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cp > 0x10FFFF)
        return 0;
    buf[0] = (uint8_t)(0xF0 | cp >> 18);
    buf[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

bool ax__utf8_valid(const uint8_t *s, size_t len, size_t *nchars)
{
    size_t count = 0;
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n;

        if (s[i] < 0x80) {
            i++;
        } else {
            n = ax__utf8_decode(s + i, len - i, &cp);
            if (n == 0)
                return false;
            i += n;
        }
        count++;
    }
    if (nchars)
        *nchars = count;
    return true;
}
