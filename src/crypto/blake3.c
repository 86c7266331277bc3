/*
 * blake3.c — BLAKE3, written from the specification (the BLAKE3 paper and
 * its C2SP text): compression function, chunk chaining, the Merkle tree
 * built incrementally with a stack of subtree roots, and extendable output.
 *
 * Invariants of weft_blake3_t between calls:
 *  - the current chunk holds blocks_done*64 + buf_len bytes (0..1024), and
 *    its last block always stays in buf until more input arrives, because
 *    only then is it known whether the block ends the chunk (and whether the
 *    chunk is the root);
 *  - cv_stack holds the roots of the complete subtrees left of the current
 *    chunk, largest first: one per set bit of chunk_counter, so popcount
 *    of the chunk count (at most 54 entries for inputs under 2^64 bytes).
 * Finalization folds the current chunk into that stack from the right; it
 * reads the state only, so a hasher can be finalized any number of times.
 */
#include "weft/blake3.h"

#include <string.h>

/* Domain-separation flags of the compression function. */
enum {
    CHUNK_START = 1u << 0,
    CHUNK_END = 1u << 1,
    PARENT = 1u << 2,
    ROOT = 1u << 3,
    KEYED_HASH = 1u << 4,
    DERIVE_KEY_CONTEXT = 1u << 5,
    DERIVE_KEY_MATERIAL = 1u << 6,
};

#define BLOCK_LEN WEFT_BLAKE3_BLOCK_LEN
#define CHUNK_LEN WEFT_BLAKE3_CHUNK_LEN

/* The SHA-256 initial value: the key of unkeyed hashing. */
static const uint32_t IV[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

/* Which message word each round reads where round 0 reads m[0..15]. The
 * spec permutes the message between rounds; precomputing the 7 composed
 * permutations lets every round index the untouched message instead. Row
 * r+1 is row r composed with the permutation 2,6,3,10,7,0,4,13,1,11,12,5,
 * 9,14,15,8. The rounds index this with constants, so the compiler folds
 * the lookups away. */
static const uint8_t SCHEDULE[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

/* n is always 7, 8, 12 or 16 here, never 0 (a shift by 32 is undefined). */
static inline uint32_t rotr32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

/* Byte-wise so it is right on any endianness and alignment; compilers turn
 * it into one load on little-endian machines. */
static inline uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline void store32(uint8_t *p, uint32_t w)
{
    p[0] = (uint8_t)w;
    p[1] = (uint8_t)(w >> 8);
    p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
}

static void load_words(const uint8_t *p, uint32_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w[i] = load32(p + 4 * i);
}

/* The quarter-round, on named locals so the 16 state words can live in
 * registers. */
#define G(a, b, c, d, x, y)        \
    do {                           \
        a = a + b + (x);           \
        d = rotr32(d ^ a, 16);     \
        c = c + d;                 \
        b = rotr32(b ^ c, 12);     \
        a = a + b + (y);           \
        d = rotr32(d ^ a, 8);      \
        c = c + d;                 \
        b = rotr32(b ^ c, 7);      \
    } while (0)

/* One round: the four columns, then the four diagonals. */
#define ROUND(r)                                                   \
    do {                                                           \
        G(v0, v4, v8, v12, m[SCHEDULE[r][0]], m[SCHEDULE[r][1]]);  \
        G(v1, v5, v9, v13, m[SCHEDULE[r][2]], m[SCHEDULE[r][3]]);  \
        G(v2, v6, v10, v14, m[SCHEDULE[r][4]], m[SCHEDULE[r][5]]); \
        G(v3, v7, v11, v15, m[SCHEDULE[r][6]], m[SCHEDULE[r][7]]); \
        G(v0, v5, v10, v15, m[SCHEDULE[r][8]], m[SCHEDULE[r][9]]); \
        G(v1, v6, v11, v12, m[SCHEDULE[r][10]], m[SCHEDULE[r][11]]); \
        G(v2, v7, v8, v13, m[SCHEDULE[r][12]], m[SCHEDULE[r][13]]); \
        G(v3, v4, v9, v14, m[SCHEDULE[r][14]], m[SCHEDULE[r][15]]); \
    } while (0)

/* The compression function: 7 rounds over the chaining value cv, the block
 * m (16 words), the 64-bit counter, the block length and the flags. Writes
 * the untruncated 16-word output: out[i] = v[i] ^ v[i+8] for i < 8 (the
 * next chaining value) and out[i+8] = v[i+8] ^ cv[i] (extra output bytes of
 * a root). out must not alias cv, which is read again for the last 8. */
static void compress(const uint32_t cv[8], const uint32_t m[16], uint32_t block_len,
                     uint64_t counter, uint32_t flags, uint32_t out[16])
{
    uint32_t v0 = cv[0], v1 = cv[1], v2 = cv[2], v3 = cv[3];
    uint32_t v4 = cv[4], v5 = cv[5], v6 = cv[6], v7 = cv[7];
    uint32_t v8 = IV[0], v9 = IV[1], v10 = IV[2], v11 = IV[3];
    uint32_t v12 = (uint32_t)counter, v13 = (uint32_t)(counter >> 32);
    uint32_t v14 = block_len, v15 = flags;

    ROUND(0);
    ROUND(1);
    ROUND(2);
    ROUND(3);
    ROUND(4);
    ROUND(5);
    ROUND(6);

    out[0] = v0 ^ v8;
    out[1] = v1 ^ v9;
    out[2] = v2 ^ v10;
    out[3] = v3 ^ v11;
    out[4] = v4 ^ v12;
    out[5] = v5 ^ v13;
    out[6] = v6 ^ v14;
    out[7] = v7 ^ v15;
    out[8] = v8 ^ cv[0];
    out[9] = v9 ^ cv[1];
    out[10] = v10 ^ cv[2];
    out[11] = v11 ^ cv[3];
    out[12] = v12 ^ cv[4];
    out[13] = v13 ^ cv[5];
    out[14] = v14 ^ cv[6];
    out[15] = v15 ^ cv[7];
}

/* Advances a chaining value in place (the truncated output). */
static void compress_cv(uint32_t cv[8], const uint32_t m[16], uint32_t block_len,
                        uint64_t counter, uint32_t flags)
{
    uint32_t out[16];
    compress(cv, m, block_len, counter, flags, out);
    memcpy(cv, out, 8 * sizeof(uint32_t));
}

/* A node whose last compression has not been run yet: either the current
 * (last) chunk's final block or a parent. Keeping it unevaluated lets the
 * caller decide between a chaining value (interior node) and root output
 * (ROOT flag, any counter for extended output). */
typedef struct {
    uint32_t cv[8];
    uint32_t block[16];
    uint64_t counter;
    uint32_t block_len;
    uint32_t flags;
} node_t;

static void node_cv(const node_t *n, uint32_t out[8])
{
    memcpy(out, n->cv, sizeof n->cv);
    compress_cv(out, n->block, n->block_len, n->counter, n->flags);
}

static void parent_node(const uint32_t left[8], const uint32_t right[8],
                        const uint32_t key[8], uint32_t mode_flags, node_t *out)
{
    memcpy(out->cv, key, sizeof out->cv);
    memcpy(out->block, left, 8 * sizeof(uint32_t));
    memcpy(out->block + 8, right, 8 * sizeof(uint32_t));
    out->counter = 0;
    out->block_len = BLOCK_LEN;
    out->flags = mode_flags | PARENT;
}

/* Root output from byte `seek` on: output block i is the root compression
 * with counter i, so a seek starts at block seek/64 without computing the
 * ones before. */
static void node_root_bytes(const node_t *n, uint64_t seek, uint8_t *out, size_t len)
{
    uint64_t counter = seek / BLOCK_LEN;
    size_t skip = (size_t)(seek % BLOCK_LEN);
    while (len > 0) {
        uint32_t words[16];
        uint8_t bytes[BLOCK_LEN];
        compress(n->cv, n->block, n->block_len, counter, n->flags | ROOT, words);
        for (size_t i = 0; i < 16; i++)
            store32(bytes + 4 * i, words[i]);
        size_t take = BLOCK_LEN - skip;
        if (take > len)
            take = len;
        memcpy(out, bytes + skip, take);
        out += take;
        len -= take;
        skip = 0;
        counter++;
    }
}

/* ---- the current chunk ---- */

static size_t chunk_len(const weft_blake3_t *h)
{
    return (size_t)h->blocks_done * BLOCK_LEN + h->buf_len;
}

static void chunk_reset(weft_blake3_t *h, uint64_t counter)
{
    memcpy(h->cv, h->key, sizeof h->cv);
    h->chunk_counter = counter;
    h->buf_len = 0;
    h->blocks_done = 0;
}

/* Compresses a full block known not to be the chunk's last. */
static void chunk_block(weft_blake3_t *h, const uint8_t block[BLOCK_LEN])
{
    uint32_t m[16];
    load_words(block, m, 16);
    compress_cv(h->cv, m, BLOCK_LEN, h->chunk_counter,
                h->flags | (h->blocks_done == 0 ? CHUNK_START : 0));
    h->blocks_done++;
}

/* Adds len bytes that fit in the current chunk (chunk_len + len <= 1024).
 * Whole blocks are compressed straight from the input; the last block,
 * full or not, stays buffered. */
static void chunk_update(weft_blake3_t *h, const uint8_t *in, size_t len)
{
    if (h->buf_len > 0) {
        size_t take = BLOCK_LEN - h->buf_len;
        if (take > len)
            take = len;
        memcpy(h->buf + h->buf_len, in, take);
        h->buf_len += (uint8_t)take;
        in += take;
        len -= take;
        if (len == 0)
            return;
        chunk_block(h, h->buf);
        h->buf_len = 0;
    }
    while (len > BLOCK_LEN) {
        chunk_block(h, in);
        in += BLOCK_LEN;
        len -= BLOCK_LEN;
    }
    memcpy(h->buf, in, len);
    h->buf_len = (uint8_t)len;
}

/* The current chunk as a node: its buffered block (zero-padded) is its last. */
static void chunk_node(const weft_blake3_t *h, node_t *out)
{
    uint8_t block[BLOCK_LEN] = {0};
    memcpy(block, h->buf, h->buf_len);
    memcpy(out->cv, h->cv, sizeof out->cv);
    load_words(block, out->block, 16);
    out->counter = h->chunk_counter;
    out->block_len = h->buf_len;
    out->flags = h->flags | CHUNK_END | (h->blocks_done == 0 ? CHUNK_START : 0);
}

/* Pushes the chaining value of a finished chunk, `total` being the number
 * of chunks finished so far. Each trailing zero bit of `total` means the
 * new subtree is as large as the one on top of the stack: merge them under
 * a parent and carry on, like a binary counter carrying. The merges are
 * eager because the chunk pushed is never the last one (see update). */
static void push_chunk_cv(weft_blake3_t *h, uint32_t cv[8], uint64_t total)
{
    while ((total & 1) == 0) {
        node_t parent;
        h->stack_len--;
        parent_node(h->cv_stack[h->stack_len], cv, h->key, h->flags, &parent);
        node_cv(&parent, cv);
        total >>= 1;
    }
    memcpy(h->cv_stack[h->stack_len], cv, 8 * sizeof(uint32_t));
    h->stack_len++;
}

/* ---- public API ---- */

static void init_with(weft_blake3_t *h, const uint32_t key[8], uint32_t flags)
{
    memset(h, 0, sizeof *h);
    memcpy(h->key, key, sizeof h->key);
    h->flags = (uint8_t)flags;
    chunk_reset(h, 0);
}

void weft_blake3_init(weft_blake3_t *h)
{
    init_with(h, IV, 0);
}

void weft_blake3_init_keyed(weft_blake3_t *h, const uint8_t key[WEFT_BLAKE3_KEY_LEN])
{
    uint32_t words[8];
    load_words(key, words, 8);
    init_with(h, words, KEYED_HASH);
}

void weft_blake3_init_derive_key_raw(weft_blake3_t *h, const void *context,
                                     size_t context_len)
{
    /* Two phases: the context string is hashed (under its own flag) into a
     * context key, which then keys the hashing of the key material. */
    uint8_t context_key[WEFT_BLAKE3_KEY_LEN];
    uint32_t words[8];
    init_with(h, IV, DERIVE_KEY_CONTEXT);
    weft_blake3_update(h, context, context_len);
    weft_blake3_finalize(h, context_key, sizeof context_key);
    load_words(context_key, words, 8);
    init_with(h, words, DERIVE_KEY_MATERIAL);
}

void weft_blake3_init_derive_key(weft_blake3_t *h, const char *context)
{
    weft_blake3_init_derive_key_raw(h, context, strlen(context));
}

void weft_blake3_update(weft_blake3_t *h, const void *p, size_t len)
{
    const uint8_t *in = p;
    while (len > 0) {
        /* A full chunk is finished only now that more input follows: until
         * then it might have been the last chunk, or the root. */
        if (chunk_len(h) == CHUNK_LEN) {
            node_t chunk;
            uint32_t cv[8];
            chunk_node(h, &chunk);
            node_cv(&chunk, cv);
            push_chunk_cv(h, cv, h->chunk_counter + 1);
            chunk_reset(h, h->chunk_counter + 1);
        }
        size_t take = CHUNK_LEN - chunk_len(h);
        if (take > len)
            take = len;
        chunk_update(h, in, take);
        in += take;
        len -= take;
    }
}

void weft_blake3_finalize_seek(const weft_blake3_t *h, uint64_t seek, uint8_t *out,
                               size_t out_len)
{
    if (out_len == 0)
        return;
    /* Fold right to left: the current chunk is the rightmost leaf, each
     * stack entry the left sibling of everything folded so far. */
    node_t node;
    chunk_node(h, &node);
    for (size_t i = h->stack_len; i-- > 0;) {
        uint32_t right[8];
        node_cv(&node, right);
        parent_node(h->cv_stack[i], right, h->key, h->flags, &node);
    }
    node_root_bytes(&node, seek, out, out_len);
}

void weft_blake3_finalize(const weft_blake3_t *h, uint8_t *out, size_t out_len)
{
    weft_blake3_finalize_seek(h, 0, out, out_len);
}

void weft_blake3(const void *p, size_t len, uint8_t out[WEFT_BLAKE3_OUT_LEN])
{
    weft_blake3_t h;
    weft_blake3_init(&h);
    weft_blake3_update(&h, p, len);
    weft_blake3_finalize(&h, out, WEFT_BLAKE3_OUT_LEN);
}
