/*
 * sdk/calimero.h — C SDK for the Calimero ABI (module `env`), for guests.
 *
 * Declares every function of the Calimero "Host Functions Reference"
 * with its exact u64 signature (imported under the document's name; the C
 * names carry a cal_ prefix so they never clash with a guest's own), the
 * sys types as the real calimero-sys lays them out, and small inline
 * helpers (at the end). Every pointer and length is a u64, even on wasm32;
 * buffers are 16-byte {ptr, len} descriptors (cal_buf_t). Compile guests
 * with clang --target=wasm32-wasi -mexec-model=reactor (or wasm32) and
 * -I path/to/sdk; export each method with no parameters and no result
 * (CAL_EXPORT), reading its arguments with cal_input and answering with
 * cal_value_return. weft's choices where the document is silent are in
 * docs/calimero.md.
 */
#ifndef WEFT_SDK_CALIMERO_H
#define WEFT_SDK_CALIMERO_H

#include <stddef.h>
#include <stdint.h>

#define CAL_IMPORT(name) __attribute__((import_module("env"), import_name(name)))
#define CAL_EXPORT(name) __attribute__((export_name(name)))

/* ---- sys types (calimero-sys layouts) ----------------------------------- */
typedef struct {
    uint64_t ptr;
    uint64_t len;
} cal_buf_t; /* sys::Buffer / BufferMut: 16 bytes */

typedef struct {
    cal_buf_t file;
    uint32_t line;
    uint32_t column;
} cal_location_t; /* sys::Location: 24 bytes */

typedef struct {
    cal_buf_t kind;
    cal_buf_t data;
} cal_event_t; /* sys::Event: 32 bytes */

typedef struct {
    cal_buf_t context_id;
    cal_buf_t function;
    cal_buf_t params;
} cal_xcall_t; /* sys::XCall: 48 bytes */

typedef struct {
    uint64_t tag; /* CAL_OK or CAL_ERR */
    cal_buf_t value;
} cal_value_return_t; /* sys::ValueReturn, #[repr(C, u64)]: 24 bytes */
#define CAL_OK 0u
#define CAL_ERR 1u

#define CAL_REGISTER_MISSING UINT64_MAX /* what cal_register_len answers */

/* VMLimits defaults (the document's table). */
#define CAL_MAX_REGISTERS 100u
#define CAL_MAX_REGISTER_SIZE (100ull * 1024 * 1024)
#define CAL_MAX_STORAGE_KEY_SIZE (1024ull * 1024)
#define CAL_MAX_STORAGE_VALUE_SIZE (10ull * 1024 * 1024)
#define CAL_MAX_LOGS 100u
#define CAL_MAX_LOG_SIZE (16u * 1024)
#define CAL_MAX_EVENTS 100u
#define CAL_MAX_EVENT_KIND_SIZE 100u
#define CAL_MAX_EVENT_DATA_SIZE (16u * 1024)

/* ---- system and panics -------------------------------------------------- */
CAL_IMPORT("panic") __attribute__((noreturn)) void cal_panic(uint64_t location_ptr);
CAL_IMPORT("panic_utf8") __attribute__((noreturn)) void cal_panic_utf8(uint64_t msg_ptr, uint64_t file_ptr);

/* ---- registers ------------------------------------------------------------ */
CAL_IMPORT("register_len") uint64_t cal_register_len(uint64_t register_id);
CAL_IMPORT("read_register") uint32_t cal_read_register(uint64_t register_id, uint64_t dest_ptr);

/* ---- context, identity, input/output ---------------------------------------- */
CAL_IMPORT("context_id") void cal_context_id(uint64_t register_id);
CAL_IMPORT("executor_id") void cal_executor_id(uint64_t register_id);
CAL_IMPORT("input") void cal_input(uint64_t register_id);
CAL_IMPORT("value_return") void cal_value_return(uint64_t value_ptr);

/* ---- logs and events ----------------------------------------------------------- */
CAL_IMPORT("log_utf8") void cal_log_utf8(uint64_t log_ptr);
CAL_IMPORT("js_std_d_print") uint32_t cal_js_std_d_print(uint64_t ctx_ptr, uint64_t message_ptr, uint64_t message_len);
CAL_IMPORT("emit") void cal_emit(uint64_t event_ptr);
CAL_IMPORT("emit_with_handler") void cal_emit_with_handler(uint64_t event_ptr, uint64_t handler_ptr);
CAL_IMPORT("xcall") void cal_xcall(uint64_t xcall_ptr);

/* ---- synced storage ---------------------------------------------------------------- */
CAL_IMPORT("storage_read") uint32_t cal_storage_read(uint64_t key_ptr, uint64_t register_id);
CAL_IMPORT("storage_write") uint32_t cal_storage_write(uint64_t key_ptr, uint64_t value_ptr, uint64_t register_id);
CAL_IMPORT("storage_remove") uint32_t cal_storage_remove(uint64_t key_ptr, uint64_t register_id);

/* ---- private storage (node-local) ------------------------------------------------- */
CAL_IMPORT("private_storage_read") uint32_t cal_private_storage_read(uint64_t key_ptr, uint64_t register_id);
CAL_IMPORT("private_storage_write") uint32_t cal_private_storage_write(uint64_t key_ptr, uint64_t value_ptr);
CAL_IMPORT("private_storage_remove") uint32_t cal_private_storage_remove(uint64_t key_ptr, uint64_t register_id);

/* ---- state management ------------------------------------------------------------------ */
CAL_IMPORT("commit") void cal_commit(uint64_t root_hash_ptr, uint64_t artifact_ptr);
CAL_IMPORT("persist_root_state") void cal_persist_root_state(uint64_t doc_ptr, uint64_t created_at, uint64_t updated_at);
CAL_IMPORT("read_root_state") int32_t cal_read_root_state(uint64_t register_id);
CAL_IMPORT("apply_storage_delta") void cal_apply_storage_delta(uint64_t delta_ptr);
CAL_IMPORT("flush_delta") int32_t cal_flush_delta(void);

/* ---- CRDT collections (JS SDK): 0/1 results, -1 error (message in the register) */
CAL_IMPORT("js_crdt_map_new") int32_t cal_js_crdt_map_new(uint64_t register_id);
CAL_IMPORT("js_crdt_map_get") int32_t cal_js_crdt_map_get(uint64_t map_id_ptr, uint64_t key_ptr, uint64_t register_id);
CAL_IMPORT("js_crdt_map_insert") int32_t cal_js_crdt_map_insert(uint64_t map_id_ptr, uint64_t key_ptr, uint64_t value_ptr, uint64_t register_id);
CAL_IMPORT("js_crdt_map_remove") int32_t cal_js_crdt_map_remove(uint64_t map_id_ptr, uint64_t key_ptr, uint64_t register_id);
CAL_IMPORT("js_crdt_map_contains") int32_t cal_js_crdt_map_contains(uint64_t map_id_ptr, uint64_t key_ptr);
CAL_IMPORT("js_crdt_map_iter") int32_t cal_js_crdt_map_iter(uint64_t map_id_ptr, uint64_t register_id);
CAL_IMPORT("js_crdt_vector_new") int32_t cal_js_crdt_vector_new(uint64_t register_id);
CAL_IMPORT("js_crdt_vector_len") int32_t cal_js_crdt_vector_len(uint64_t vector_id_ptr, uint64_t register_id);
CAL_IMPORT("js_crdt_vector_push") int32_t cal_js_crdt_vector_push(uint64_t vector_id_ptr, uint64_t value_ptr);
CAL_IMPORT("js_crdt_vector_get") int32_t cal_js_crdt_vector_get(uint64_t vector_id_ptr, uint64_t index, uint64_t register_id);
CAL_IMPORT("js_crdt_vector_pop") int32_t cal_js_crdt_vector_pop(uint64_t vector_id_ptr, uint64_t register_id);
CAL_IMPORT("js_crdt_set_new") int32_t cal_js_crdt_set_new(uint64_t register_id);
CAL_IMPORT("js_crdt_set_insert") int32_t cal_js_crdt_set_insert(uint64_t set_id_ptr, uint64_t value_ptr);
CAL_IMPORT("js_crdt_set_contains") int32_t cal_js_crdt_set_contains(uint64_t set_id_ptr, uint64_t value_ptr);
CAL_IMPORT("js_crdt_set_remove") int32_t cal_js_crdt_set_remove(uint64_t set_id_ptr, uint64_t value_ptr);
CAL_IMPORT("js_crdt_set_len") int32_t cal_js_crdt_set_len(uint64_t set_id_ptr, uint64_t register_id);
CAL_IMPORT("js_crdt_set_iter") int32_t cal_js_crdt_set_iter(uint64_t set_id_ptr, uint64_t register_id);
CAL_IMPORT("js_crdt_set_clear") int32_t cal_js_crdt_set_clear(uint64_t set_id_ptr);
CAL_IMPORT("js_crdt_lww_new") int32_t cal_js_crdt_lww_new(uint64_t register_id);
CAL_IMPORT("js_crdt_lww_set") int32_t cal_js_crdt_lww_set(uint64_t register_id_ptr, uint64_t value_ptr, uint32_t has_value);
CAL_IMPORT("js_crdt_lww_get") int32_t cal_js_crdt_lww_get(uint64_t register_id_ptr, uint64_t register_id);
CAL_IMPORT("js_crdt_lww_timestamp") int32_t cal_js_crdt_lww_timestamp(uint64_t register_id_ptr, uint64_t register_id);
CAL_IMPORT("js_crdt_counter_new") int32_t cal_js_crdt_counter_new(uint64_t register_id);
CAL_IMPORT("js_crdt_counter_increment") int32_t cal_js_crdt_counter_increment(uint64_t counter_id_ptr);
CAL_IMPORT("js_crdt_counter_value") int32_t cal_js_crdt_counter_value(uint64_t counter_id_ptr, uint64_t register_id);
CAL_IMPORT("js_crdt_counter_get_executor_count") int32_t cal_js_crdt_counter_get_executor_count(uint64_t counter_id_ptr, uint64_t executor_ptr, uint32_t has_executor, uint64_t register_id);

/* ---- user and frozen storage (JS SDK) --------------------------------------------------- */
CAL_IMPORT("js_user_storage_new") int32_t cal_js_user_storage_new(uint64_t register_id);
CAL_IMPORT("js_user_storage_insert") int32_t cal_js_user_storage_insert(uint64_t storage_id_ptr, uint64_t value_ptr, uint64_t register_id);
CAL_IMPORT("js_user_storage_get") int32_t cal_js_user_storage_get(uint64_t storage_id_ptr, uint64_t register_id);
CAL_IMPORT("js_user_storage_get_for_user") int32_t cal_js_user_storage_get_for_user(uint64_t storage_id_ptr, uint64_t user_key_ptr, uint64_t register_id);
CAL_IMPORT("js_user_storage_remove") int32_t cal_js_user_storage_remove(uint64_t storage_id_ptr, uint64_t register_id);
CAL_IMPORT("js_user_storage_contains") int32_t cal_js_user_storage_contains(uint64_t storage_id_ptr);
CAL_IMPORT("js_user_storage_contains_user") int32_t cal_js_user_storage_contains_user(uint64_t storage_id_ptr, uint64_t user_key_ptr);
CAL_IMPORT("js_frozen_storage_new") int32_t cal_js_frozen_storage_new(uint64_t register_id);
CAL_IMPORT("js_frozen_storage_add") int32_t cal_js_frozen_storage_add(uint64_t storage_id_ptr, uint64_t value_ptr, uint64_t register_id);
CAL_IMPORT("js_frozen_storage_get") int32_t cal_js_frozen_storage_get(uint64_t storage_id_ptr, uint64_t hash_ptr, uint64_t register_id);
CAL_IMPORT("js_frozen_storage_contains") int32_t cal_js_frozen_storage_contains(uint64_t storage_id_ptr, uint64_t hash_ptr);

/* ---- contexts, blobs, governance (send_proposal's actions are weft's:
 * docs/calimero.md "Governance") ------------------------------------------------------------- */
CAL_IMPORT("context_create") void cal_context_create(uint64_t protocol_ptr, uint64_t app_id_ptr, uint64_t args_ptr, uint64_t alias_ptr);
CAL_IMPORT("context_delete") void cal_context_delete(uint64_t context_id_ptr);
CAL_IMPORT("context_add_member") void cal_context_add_member(uint64_t public_key_ptr);
CAL_IMPORT("context_remove_member") void cal_context_remove_member(uint64_t public_key_ptr);
CAL_IMPORT("context_is_member") uint32_t cal_context_is_member(uint64_t public_key_ptr);
CAL_IMPORT("context_members") void cal_context_members(uint64_t register_id);
CAL_IMPORT("context_resolve_alias") uint32_t cal_context_resolve_alias(uint64_t alias_ptr, uint64_t register_id);
CAL_IMPORT("blob_create") uint64_t cal_blob_create(void);
CAL_IMPORT("blob_write") uint64_t cal_blob_write(uint64_t fd, uint64_t data_ptr);
CAL_IMPORT("blob_close") uint32_t cal_blob_close(uint64_t fd, uint64_t blob_id_ptr);
CAL_IMPORT("blob_open") uint64_t cal_blob_open(uint64_t blob_id_ptr);
CAL_IMPORT("blob_read") uint64_t cal_blob_read(uint64_t fd, uint64_t data_ptr);
CAL_IMPORT("blob_announce_to_context") uint32_t cal_blob_announce_to_context(uint64_t blob_id_ptr, uint64_t context_id_ptr);
CAL_IMPORT("send_proposal") void cal_send_proposal(uint64_t actions_ptr, uint64_t id_ptr);
CAL_IMPORT("approve_proposal") void cal_approve_proposal(uint64_t approval_ptr);

/* ---- utility ----------------------------------------------------------------------------- */
/* fetch: 0 and the response body in the register, or 1 and the body (status
 * 400 and up) or the reason (denied by the node's allowlist, no answer) as
 * text; headers are Borsh Vec<(String, String)>. docs/http-client.md */
CAL_IMPORT("fetch") uint32_t cal_fetch(uint64_t url_ptr, uint64_t method_ptr, uint64_t headers_ptr, uint64_t body_ptr, uint64_t register_id);
CAL_IMPORT("random_bytes") void cal_random_bytes(uint64_t dest_ptr);
CAL_IMPORT("time_now") void cal_time_now(uint64_t dest_ptr);
CAL_IMPORT("ed25519_verify") uint32_t cal_ed25519_verify(uint64_t sig_ptr, uint64_t pk_ptr, uint64_t msg_ptr);

/* ---- helpers ----------------------------------------------------------------------------- */

/* A guest pointer as the u64 the ABI takes. */
static inline uint64_t cal_ptr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

static inline cal_buf_t cal_buf(const void *p, size_t len)
{
    cal_buf_t b = {(uint64_t)(uintptr_t)p, (uint64_t)len};
    return b;
}

static inline size_t cal_strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* The register's bytes into out[0..cap): the length, or -1 when the
 * register is missing or longer than cap (nothing is copied then). */
static inline int64_t cal_register_read(uint64_t register_id, void *out, size_t cap)
{
    uint64_t len = cal_register_len(register_id);
    if (len == CAL_REGISTER_MISSING || len > cap) return -1;
    cal_buf_t b = cal_buf(out, (size_t)len);
    return cal_read_register(register_id, cal_ptr(&b)) == 1 ? (int64_t)len : -1;
}

/* Ok(bytes) or Err(bytes) as the call's result. */
static inline void cal_return(uint64_t tag, const void *p, size_t len)
{
    cal_value_return_t v;
    v.tag = tag;
    v.value = cal_buf(p, len);
    cal_value_return(cal_ptr(&v));
}

static inline void cal_log(const char *msg)
{
    cal_buf_t b = cal_buf(msg, cal_strlen(msg));
    cal_log_utf8(cal_ptr(&b));
}

static inline void cal_emit_event(const char *kind, const void *data, size_t len)
{
    cal_event_t e;
    e.kind = cal_buf(kind, cal_strlen(kind));
    e.data = cal_buf(data, len);
    cal_emit(cal_ptr(&e));
}

/* panic_utf8 with a C-string message and this file and line. */
#define CAL_PANIC(msg)                                                    \
    do {                                                                  \
        cal_buf_t m_ = cal_buf((msg), cal_strlen(msg));                   \
        cal_location_t l_;                                                \
        l_.file = cal_buf(__FILE__, cal_strlen(__FILE__));                \
        l_.line = __LINE__;                                               \
        l_.column = 0;                                                    \
        cal_panic_utf8(cal_ptr(&m_), cal_ptr(&l_));                       \
    } while (0)

/* Storage with (pointer, length) keys and values; the old value or the
 * value read goes to register_id. */
static inline uint32_t cal_write(const void *key, size_t kl, const void *val, size_t vl,
                                 uint64_t register_id)
{
    cal_buf_t k = cal_buf(key, kl), v = cal_buf(val, vl);
    return cal_storage_write(cal_ptr(&k), cal_ptr(&v), register_id);
}

static inline uint32_t cal_read(const void *key, size_t kl, uint64_t register_id)
{
    cal_buf_t k = cal_buf(key, kl);
    return cal_storage_read(cal_ptr(&k), register_id);
}

static inline uint32_t cal_remove(const void *key, size_t kl, uint64_t register_id)
{
    cal_buf_t k = cal_buf(key, kl);
    return cal_storage_remove(cal_ptr(&k), register_id);
}

#endif
