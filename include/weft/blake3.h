/*
 * weft/blake3.h — the BLAKE3 hash function: hashing, keyed hashing (MAC /
 * PRF), key derivation, with extendable output of any length.
 *
 * Portable C written from the BLAKE3 specification and checked against the
 * official test vectors (tests/crypto/). No SIMD, no threads: one core,
 * one block at a time. Nothing here allocates, fails or keeps global state;
 * every function is safe to call from any thread on distinct hashers.
 *
 * Typical use:
 *   weft_blake3_t h;
 *   weft_blake3_init(&h);
 *   weft_blake3_update(&h, part1, len1);
 *   weft_blake3_update(&h, part2, len2);
 *   weft_blake3_finalize(&h, digest, WEFT_BLAKE3_OUT_LEN);
 *
 * Limits: at most 2^64 - 1 input bytes per hasher and 2^64 output bytes per
 * finalization (both counted in 64-bit integers; nothing checks them, since
 * no real input comes near).
 */
#ifndef WEFT_BLAKE3_H
#define WEFT_BLAKE3_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_BLAKE3_OUT_LEN 32     /* default output length, bytes */
#define WEFT_BLAKE3_KEY_LEN 32     /* key length of keyed hashing, bytes */
#define WEFT_BLAKE3_BLOCK_LEN 64   /* compression function input, bytes */
#define WEFT_BLAKE3_CHUNK_LEN 1024 /* leaf of the hash tree, bytes */
/* Depth of the chaining-value stack: 2^64 bytes of input are 2^54 chunks,
 * and the stack holds one entry per set bit of the chunk count. */
#define WEFT_BLAKE3_MAX_DEPTH 54

/* Hasher state. The caller allocates it (on the stack is fine: about 1.9 KiB)
 * and sets it up with one of the _init functions; there is nothing to free.
 * It holds no pointers, so a copy made with memcpy or assignment is an
 * independent hasher (useful to hash a common prefix once). The fields are
 * private: use only the functions below. */
typedef struct {
    uint32_t key[8];       /* key words: IV, the caller's key or the context key */
    uint32_t cv[8];        /* chaining value of the chunk being hashed */
    uint64_t chunk_counter; /* index of the chunk being hashed */
    uint8_t buf[WEFT_BLAKE3_BLOCK_LEN]; /* pending bytes of the current block */
    uint8_t buf_len;       /* bytes in buf, 0..64 */
    uint8_t blocks_done;   /* blocks of the current chunk already compressed, 0..15 */
    uint8_t flags;         /* mode flags: 0, keyed, or derive-key material */
    uint8_t stack_len;     /* entries in cv_stack */
    uint32_t cv_stack[WEFT_BLAKE3_MAX_DEPTH][8]; /* roots of finished subtrees */
} weft_blake3_t;

/* Sets up h for plain hashing. */
void weft_blake3_init(weft_blake3_t *h);

/* Sets up h for keyed hashing (a MAC or PRF) with a 32-byte key. The key is
 * copied; the caller may wipe its copy at once. */
void weft_blake3_init_keyed(weft_blake3_t *h, const uint8_t key[WEFT_BLAKE3_KEY_LEN]);

/* Sets up h for key derivation: the bytes then given to _update are the key
 * material, and the output is a key bound to `context`, a NUL-terminated
 * string that should be hard-coded, globally unique and application
 * specific, e.g. "weft 2025-01-01 peer link session key". The string must
 * not be NULL and is only read during the call. */
void weft_blake3_init_derive_key(weft_blake3_t *h, const char *context);

/* The same, for a context given as bytes (which may contain NUL). `context`
 * may be NULL when context_len is 0. */
void weft_blake3_init_derive_key_raw(weft_blake3_t *h, const void *context,
                                     size_t context_len);

/* Absorbs len bytes from p (only read during the call). The result does not
 * depend on how the input is split across calls. p may be NULL when len is
 * 0. Update may follow a finalization: the output then covers all input
 * given so far. */
void weft_blake3_update(weft_blake3_t *h, const void *p, size_t len);

/* Writes out_len bytes of output to out (any length; 0 writes nothing and
 * out may then be NULL). Outputs of different lengths are prefixes of one
 * another: the first 32 bytes are the default-length hash. The state is
 * not changed, so one may finalize again or go on updating. */
void weft_blake3_finalize(const weft_blake3_t *h, uint8_t *out, size_t out_len);

/* Writes out_len bytes of the output stream starting at byte `seek`, i.e.
 * bytes seek .. seek+out_len-1 of an unbounded finalization, without
 * computing the bytes before them (cost is proportional to out_len only).
 * Like _finalize, leaves the state unchanged. */
void weft_blake3_finalize_seek(const weft_blake3_t *h, uint64_t seek, uint8_t *out,
                               size_t out_len);

/* One-shot plain hash of len bytes at p (p may be NULL when len is 0) into
 * out[0..31]. Equivalent to init, update, finalize(32). */
void weft_blake3(const void *p, size_t len, uint8_t out[WEFT_BLAKE3_OUT_LEN]);

#ifdef __cplusplus
}
#endif

#endif
