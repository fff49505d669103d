/*
 * utf8.h - strict UTF-8 decoding and encoding (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), shared by atoms, the printer, the
 * parser and the external term format.
 */
#ifndef AX_CORE_UTF8_H
#define AX_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes one code point from s[0..len) into *cp; returns the bytes it
 * took (1..4), or 0 if s does not start with a valid sequence. */
size_t ax__utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

/* Encodes cp (valid: <= 0x10FFFF, not a surrogate) into buf[0..4);
 * returns the bytes written, or 0 for an invalid cp. */
size_t ax__utf8_encode(uint32_t cp, uint8_t *buf);

/* True if s[0..len) is valid UTF-8; *nchars (if not NULL) gets the number
 * of code points. */
bool ax__utf8_valid(const uint8_t *s, size_t len, size_t *nchars);

#endif /* AX_CORE_UTF8_H */
