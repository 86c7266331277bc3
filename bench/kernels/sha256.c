/*
 * bench/kernels/sha256.c — bit manipulation: SHA-256 (FIPS 180-4).
 *
 * Hashes a 64 KiB buffer, feeds the digest back into the buffer and repeats:
 * 32-bit rotates, shifts, xors and adds on a message schedule held in
 * locals, big-endian loads. check() hashes "abc" and returns the first 64
 * bits of the digest, 0xba7816bf8f01cfea per the standard's example, so a
 * correct build is self-evidently correct.
 */
#include "kernel.h"

#define BUF_SIZE (64u * 1024u)

static uint8_t buf[BUF_SIZE + 128]; /* room for padding */
static volatile uint32_t run_rounds = 2000;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                      K[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += k;
}

/* Hashes buf[0, len) in place: appends the padding after it (buf has room). */
static void sha256(uint32_t len, uint32_t h[8])
{
    static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    for (int i = 0; i < 8; i++)
        h[i] = init[i];
    uint32_t padded = (len + 9 + 63) & ~63u;
    buf[len] = 0x80;
    for (uint32_t i = len + 1; i < padded - 8; i++)
        buf[i] = 0;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        buf[padded - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (uint32_t off = 0; off < padded; off += 64)
        compress(h, buf + off);
}

long long run(void)
{
    uint32_t h[8];
    for (uint32_t i = 0; i < BUF_SIZE; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 8));
    uint32_t rounds = run_rounds;
    for (uint32_t r = 0; r < rounds; r++) {
        sha256(BUF_SIZE, h);
        /* Feed the digest back so every round depends on the one before. */
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 4; j++)
                buf[(r * 32 + i * 4 + j) % BUF_SIZE] = (uint8_t)(h[i] >> (24 - 8 * j));
    }
    return (long long)((uint64_t)h[0] << 32 | h[1]);
}

long long check(void)
{
    uint32_t h[8];
    buf[0] = 'a';
    buf[1] = 'b';
    buf[2] = 'c';
    sha256(3, h);
    return (long long)((uint64_t)h[0] << 32 | h[1]);
}
