/*
 * cal_hostile.c — a hostile Calimero guest: "run" (input: u64 seed, u32
 * calls) makes that many host calls chosen by a PRNG, with descriptor
 * pointers in and out of memory, lengths at and past every limit and
 * past memory, descriptors overlapping the data they describe, register
 * ids anywhere in u64, bad UTF-8, and unknown or short collection ids.
 * The guest itself never traps: every trap the test sees is the host's,
 * and the test requires each to carry a document error name.
 */
#include "guest.h"

static uint64_t s;

static uint64_t next(void)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

#define AREA (256u * 1024u)
static uint8_t area[AREA]; /* data and descriptors live here */

static uint64_t mem_size(void)
{
    return (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
}

/* A length: small, at or past a limit, or absurd. */
static uint64_t len(void)
{
    static const uint64_t edges[] = {0, 1, 31, 32, 33, 100, 101, 16384, 16385, 1u << 20,
                                     (1u << 20) + 1, AREA, UINT32_MAX, (uint64_t)1 << 32,
                                     UINT64_MAX, UINT64_MAX - 15};
    switch (next() % 4) {
    case 0: return edges[next() % (sizeof edges / sizeof edges[0])];
    default: return next() % 64;
    }
}

/* A data pointer: inside the area, at memory's end, or wild. */
static uint64_t ptr(void)
{
    switch (next() % 8) {
    case 0: return mem_size() - next() % 64;
    case 1: return next();
    case 2: return 0;
    default: return cal_ptr(area) + next() % (AREA - 64);
    }
}

/* A descriptor in the area (mostly in bounds), its pointer returned. */
static uint64_t desc(void)
{
    if (next() % 16 == 0) return ptr(); /* the descriptor itself anywhere */
    uint64_t at = next() % (AREA - 16);
    uint8_t *d = area + at;
    uint64_t p = ptr(), l = len();
    if (next() % 3 == 0) { /* in bounds, with the data just there */
        l = next() % 64;
        p = cal_ptr(area) + next() % (AREA - 64);
    }
    wr64(d, p);
    wr64(d + 8, l);
    return cal_ptr(d);
}

/* A 32-byte id descriptor, sometimes of another length. */
static uint64_t id_desc(void)
{
    uint64_t at = next() % (AREA - 64);
    uint8_t *d = area + at;
    wr64(d, cal_ptr(area) + next() % 128);
    wr64(d + 8, next() % 8 ? 32 : next() % 40);
    return cal_ptr(d);
}

static uint64_t reg(void)
{
    return next() % 4 ? next() % 8 : next();
}

CAL_EXPORT("run") void run(void)
{
    read_input();
    s = rd64(in_buf) * 2654435761u + 1;
    uint32_t calls = rd32(in_buf + 8);
    uint64_t blobs[4] = {0};
    uint32_t nblobs = 0;
    for (uint32_t i = 0; i < 4096; i++) area[i] = (uint8_t)next(); /* the rest: earlier seeds' */
    /* a few well-formed collection ids in area[0..128) */
    for (int k = 0; k < 4; k++) {
        int32_t r;
        switch (k) {
        case 0: r = cal_js_crdt_map_new(9); break;
        case 1: r = cal_js_crdt_vector_new(9); break;
        case 2: r = cal_js_crdt_set_new(9); break;
        default: r = cal_js_crdt_counter_new(9); break;
        }
        if (r == 0) cal_register_read(9, area + 32 * k, 32);
    }
    for (uint32_t i = 0; i < calls; i++) {
        switch (next() % 46) {
        case 0: cal_register_len(reg()); break;
        case 1: cal_read_register(reg(), desc()); break;
        case 2: cal_context_id(reg()); break;
        case 3: cal_executor_id(reg()); break;
        case 4: cal_input(reg()); break;
        case 5: cal_log_utf8(desc()); break;
        case 6: cal_js_std_d_print(0, ptr(), len()); break;
        case 7: cal_emit(desc()); break;
        case 8: cal_emit_with_handler(desc(), next() % 2 ? 0 : desc()); break;
        case 9: cal_storage_read(desc(), reg()); break;
        case 10: cal_storage_write(desc(), desc(), reg()); break;
        case 11: cal_storage_remove(desc(), reg()); break;
        case 12: cal_private_storage_read(desc(), reg()); break;
        case 13: cal_private_storage_write(desc(), desc()); break;
        case 14: cal_private_storage_remove(desc(), reg()); break;
        case 15: cal_value_return(desc()); break;
        case 16: cal_random_bytes(desc()); break;
        case 17: cal_time_now(desc()); break;
        case 18: cal_ed25519_verify(desc(), desc(), desc()); break;
        case 19: cal_read_root_state(reg()); break;
        case 20: cal_persist_root_state(desc(), next(), next()); break;
        case 21: cal_js_crdt_map_insert(id_desc(), desc(), desc(), reg()); break;
        case 22: cal_js_crdt_map_get(id_desc(), desc(), reg()); break;
        case 23: cal_js_crdt_map_remove(id_desc(), desc(), reg()); break;
        case 24: cal_js_crdt_map_iter(id_desc(), reg()); break;
        case 25: cal_js_crdt_vector_push(id_desc(), desc()); break;
        case 26: cal_js_crdt_vector_get(id_desc(), next() % 4, reg()); break;
        case 27: cal_js_crdt_vector_pop(id_desc(), reg()); break;
        case 28: cal_js_crdt_set_insert(id_desc(), desc()); break;
        case 29: cal_js_crdt_set_iter(id_desc(), reg()); break;
        case 30: cal_js_crdt_set_clear(id_desc()); break;
        case 31: cal_js_crdt_counter_increment(id_desc()); break;
        case 32: cal_js_crdt_counter_get_executor_count(id_desc(), desc(), (uint32_t)next() % 2, reg()); break;
        case 33: cal_js_crdt_lww_set(id_desc(), desc(), (uint32_t)next() % 2); break;
        case 34: cal_js_user_storage_insert(id_desc(), desc(), reg()); break;
        case 35: cal_js_frozen_storage_add(id_desc(), desc(), reg()); break;
        case 36: cal_js_frozen_storage_get(id_desc(), desc(), reg()); break;
        case 37: cal_apply_storage_delta(desc()); break;
        case 38: cal_fetch(desc(), desc(), desc(), desc(), reg()); break;
        case 39: cal_flush_delta(); break;
        case 40: blobs[nblobs++ % 4] = cal_blob_create(); break;
        case 41: cal_blob_write(next() % 2 ? blobs[next() % 4] : next() % 20, desc()); break;
        case 42: cal_blob_close(blobs[next() % 4], next() % 2 ? id_desc() : desc()); break;
        case 43: blobs[nblobs++ % 4] = cal_blob_open(next() % 2 ? id_desc() : desc()); break;
        case 44: cal_xcall(next() % 2 ? desc() : cal_ptr(area) + next() % (AREA - 48)); break;
        default: cal_blob_read(next() % 2 ? blobs[next() % 4] : next(), desc()); break;
        }
    }
    ok("done", 4);
}
