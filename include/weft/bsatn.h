/*
 * weft/bsatn.h — BSATN, the binary encoding of the Cosmictron ABI's rows,
 * keys, reducer arguments and schema (../shared/abi/cosmictron-wasm-abi.txt,
 * "BSATN encoding"; decisions in docs/cosmictron.md).
 *
 * Two things are encoded. A *type* is its tag byte from the document's
 * table, followed for Option<T> and Vec<T> by T's type, and for a Struct
 * by a u32 field count (at least 1) and, per field, its name (a String) and
 * its type. A *value* carries no tags: it is laid out by its type, as the
 * table says: integers little-endian in their width, bool one byte (0 or
 * 1), String and bytes a u32 length then the bytes (a String's valid
 * UTF-8), Option one byte (0x00 None, 0x01 Some followed by the value),
 * Vec a u32 count then the elements, Struct its fields in declaration
 * order. Every u32 is little-endian. Types nest at most
 * WEFT_BSATN_MAX_DEPTH deep.
 *
 * Every reader here takes untrusted bytes: corrupt input gives
 * WEFT_EMALFORMED (a bad value) or WEFT_EARG (a bad type), never a read
 * past the given length (tests/cosmictron/fuzz_bsatn.c). Every value is at
 * least one byte long (structs have fields), so a count can be checked
 * against the bytes left before it is walked.
 *
 * Thread safety: no shared state; buffers belong to one thread at a time.
 */
#ifndef WEFT_BSATN_H
#define WEFT_BSATN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The document's type tags. */
typedef enum {
    WEFT_BSATN_U8 = 0x00,
    WEFT_BSATN_U16 = 0x01,
    WEFT_BSATN_U32 = 0x02,
    WEFT_BSATN_U64 = 0x03,
    WEFT_BSATN_I8 = 0x08,
    WEFT_BSATN_I16 = 0x09,
    WEFT_BSATN_I32 = 0x0A,
    WEFT_BSATN_I64 = 0x0B,
    WEFT_BSATN_BOOL = 0x10,
    WEFT_BSATN_STRING = 0x11,
    WEFT_BSATN_BYTES = 0x12,
    WEFT_BSATN_OPTION = 0x20,
    WEFT_BSATN_VEC = 0x30,
    WEFT_BSATN_STRUCT = 0x40,
} weft_bsatn_tag_t;

#define WEFT_BSATN_MAX_DEPTH 32

/* ---- writing --------------------------------------------------------- */

/* A growable byte buffer. Zero-initialise it (or weft_bsatn_buf_init);
 * the bytes are owned by it until weft_bsatn_buf_fini. A failed growth
 * sets err (WEFT_ENOMEM) and every later put is a no-op, so a sequence of
 * puts is checked once at its end. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    int err;
} weft_bsatn_buf_t;

void weft_bsatn_buf_init(weft_bsatn_buf_t *b);
void weft_bsatn_buf_fini(weft_bsatn_buf_t *b);
void weft_bsatn_put_raw(weft_bsatn_buf_t *b, const void *p, size_t len);
void weft_bsatn_put_u8(weft_bsatn_buf_t *b, uint8_t v);
void weft_bsatn_put_u16(weft_bsatn_buf_t *b, uint16_t v);
void weft_bsatn_put_u32(weft_bsatn_buf_t *b, uint32_t v);
void weft_bsatn_put_u64(weft_bsatn_buf_t *b, uint64_t v);
/* A String or bytes value: u32 length, then the bytes. */
void weft_bsatn_put_bytes(weft_bsatn_buf_t *b, const void *p, size_t len);
void weft_bsatn_put_str(weft_bsatn_buf_t *b, const char *s);

/* ---- reading --------------------------------------------------------- */

/* A cursor over untrusted bytes. A read past the end (or a malformed
 * String/bool) sets err to WEFT_EMALFORMED, returns zero/NULL, and makes
 * every later read fail too. */
typedef struct {
    const uint8_t *p;
    size_t len, off;
    int err;
} weft_bsatn_reader_t;

void weft_bsatn_reader_init(weft_bsatn_reader_t *r, const uint8_t *p, size_t len);
uint8_t weft_bsatn_get_u8(weft_bsatn_reader_t *r);
uint16_t weft_bsatn_get_u16(weft_bsatn_reader_t *r);
uint32_t weft_bsatn_get_u32(weft_bsatn_reader_t *r);
uint64_t weft_bsatn_get_u64(weft_bsatn_reader_t *r);
/* `n` raw bytes (borrowed from the reader's input), or NULL. */
const uint8_t *weft_bsatn_get_raw(weft_bsatn_reader_t *r, size_t n);
/* A bytes value (u32 length + bytes); *out_len its length. */
const uint8_t *weft_bsatn_get_bytes(weft_bsatn_reader_t *r, uint32_t *out_len);
/* A String value: like get_bytes, and the bytes must be valid UTF-8. */
const uint8_t *weft_bsatn_get_str(weft_bsatn_reader_t *r, uint32_t *out_len);
/* A bool (0 or 1; anything else is malformed). */
int weft_bsatn_get_bool(weft_bsatn_reader_t *r);
/* One type (the encoding of a type, checked), borrowed; *out_len its
 * length. Malformed types set err to WEFT_EARG. */
const uint8_t *weft_bsatn_get_type(weft_bsatn_reader_t *r, size_t *out_len);

/* 1 when [p, p+len) is valid UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF). */
int weft_bsatn_utf8_ok(const uint8_t *p, size_t len);

/* ---- types and values ------------------------------------------------ */

/* Checks that t begins with one well-formed type and sets *out_used to its
 * length. Returns 0 or WEFT_EARG. */
int weft_bsatn_type_check(const uint8_t *t, size_t tlen, size_t *out_used);

/* Checks that v begins with one value of type t (a checked type) and sets
 * *out_used to its length. Returns 0 or WEFT_EMALFORMED. */
int weft_bsatn_check(const uint8_t *t, size_t tlen, const uint8_t *v, size_t vlen,
                     size_t *out_used);

/* Appends to `out` the order-preserving key of one value of type t at v
 * (checked as by weft_bsatn_check; *out_used its length): memcmp on two
 * keys orders their values as the type does. Unsigned integers are
 * big-endian; signed ones big-endian with the sign bit flipped; bool one
 * byte; String and bytes their bytes with each 0x00 written 0x00 0xFF,
 * then 0x00 0x00 (so a prefix sorts first); Option 0x00 (None, first) or
 * 0x01 then the key of the value; Vec 0x01 then the key of each element,
 * then 0x00; Struct the keys of its fields in order. Keys are prefix-free:
 * no key is a proper prefix of another of the same type. Returns 0,
 * WEFT_EMALFORMED or WEFT_ENOMEM. */
int weft_bsatn_key(const uint8_t *t, size_t tlen, const uint8_t *v, size_t vlen,
                   weft_bsatn_buf_t *out, size_t *out_used);

/* Appends to `out` one value of type t at v as JSON: integers and bools
 * as such, String as a JSON string, bytes as a string of lowercase hex
 * digits, Option as null or the value, Vec as an array, Struct as an
 * object of its field names. Returns 0, WEFT_EMALFORMED or WEFT_ENOMEM. */
int weft_bsatn_json(const uint8_t *t, size_t tlen, const uint8_t *v, size_t vlen,
                    weft_bsatn_buf_t *out, size_t *out_used);

/* Appends the type as text ("u32", "Option<String>", "Vec<u8>",
 * "{name: String, age: u8}") to out, for messages and `weft inspect`.
 * Returns 0, WEFT_EARG or WEFT_ENOMEM. */
int weft_bsatn_type_name(const uint8_t *t, size_t tlen, weft_bsatn_buf_t *out);

#ifdef __cplusplus
}
#endif
#endif
