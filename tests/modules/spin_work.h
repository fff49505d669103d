/*
 * spin_work.h - a long computation that keeps many integer and floating
 * point values live in registers, for the preemption tests: computed in
 * a module while the watchdog preempts it, and in the test itself, the
 * two results must agree bit for bit.
 */
#ifndef AX_TESTS_SPIN_WORK_H
#define AX_TESTS_SPIN_WORK_H

#include <stdint.h>
#include <string.h>

static inline uint64_t spin_bits(double d)
{
    uint64_t u;

    memcpy(&u, &d, sizeof(u));
    return u;
}

static inline uint64_t spin_work(uint64_t n, uint64_t seed)
{
    uint64_t a = seed, b = 2, c = 3, d = 5, e = 7, f = 11, g = 13, h = 17;
    double x = 1.0, y = 0.5, z = 0.25, w = 0.125;

    for (uint64_t i = 0; i < n; i++) {
        a += b ^ i;
        b = ((b << 1) | (b >> 63)) + c;
        c ^= d + i;
        d += e * 3;
        e = (e ^ f) + 1;
        f += g;
        g ^= h >> 3;
        h += a;
        x = x * 1.0000001 + y;
        y = y * 0.9999999 + z;
        z = z + w * 1e-9;
        w = w * 1.00000001;
        if (x > 1e12)
            x = 1.0 + (double)(a & 7);
    }
    return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ spin_bits(x) ^ spin_bits(y) * 3 ^
           spin_bits(z) * 5 ^ spin_bits(w) * 7;
}

#endif /* AX_TESTS_SPIN_WORK_H */
