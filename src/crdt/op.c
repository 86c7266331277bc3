/*
 * op.c — the op wire format (version 1), payload parsing and the payload
 * builders that need no state.
 *
 * An op is what one node ships to another, so decode trusts nothing: every
 * length is checked against its bound and the remaining input before use,
 * the payload is parsed for the op's kind, and trailing bytes are an error.
 * A decoded op borrows from the input buffer; nothing is allocated.
 */
#include "crdt_internal.h"

static int kind_of_type(uint8_t type, uint8_t kind)
{
    switch (type) {
    case WEFT_CRDT_GCOUNTER: return kind == WEFT_CRDT_INC;
    case WEFT_CRDT_PNCOUNTER: return kind == WEFT_CRDT_INC || kind == WEFT_CRDT_DEC;
    case WEFT_CRDT_LWW_REG: return kind == WEFT_CRDT_SET;
    case WEFT_CRDT_LWW_MAP: return kind == WEFT_CRDT_MAP_SET || kind == WEFT_CRDT_MAP_REMOVE;
    case WEFT_CRDT_ORSET: return kind == WEFT_CRDT_ADD || kind == WEFT_CRDT_REMOVE;
    case WEFT_CRDT_RGA: return kind == WEFT_CRDT_INSERT || kind == WEFT_CRDT_DELETE;
    default: return 0;
    }
}

int crdt_payload_parse(uint8_t type, uint8_t kind, const uint8_t *p, size_t len,
                       crdt_payload_t *out)
{
    crdt_rbuf_t r;
    memset(out, 0, sizeof *out);
    if (!kind_of_type(type, kind))
        return WEFT_EARG;
    if (len > WEFT_CRDT_PAYLOAD_MAX)
        return WEFT_EMALFORMED;
    crdt_rbuf_init(&r, p, len);
    switch (kind) {
    case WEFT_CRDT_INC:
    case WEFT_CRDT_DEC:
        crdt_get_varint(&r, &out->delta);
        crdt_get_varint(&r, &out->total);
        if (!r.bad && out->total < out->delta) /* the total includes this delta */
            r.bad = 1;
        break;
    case WEFT_CRDT_SET:
        if (len > WEFT_CRDT_VALUE_MAX)
            return WEFT_EMALFORMED;
        out->value = p;
        out->value_len = len;
        r.pos = len;
        break;
    case WEFT_CRDT_MAP_SET:
        crdt_get_bytes(&r, WEFT_CRDT_FIELD_MAX, &out->field, &out->field_len);
        if (r.bad || crdt_rbuf_left(&r) > WEFT_CRDT_VALUE_MAX)
            return WEFT_EMALFORMED;
        out->value = p + r.pos;
        out->value_len = crdt_rbuf_left(&r);
        r.pos = len;
        break;
    case WEFT_CRDT_MAP_REMOVE:
    case WEFT_CRDT_ADD:
        if (len > WEFT_CRDT_FIELD_MAX)
            return WEFT_EMALFORMED;
        out->field = p;
        out->field_len = len;
        r.pos = len;
        break;
    case WEFT_CRDT_REMOVE: {
        uint64_t n;
        weft_crdt_id_t prev, id;
        crdt_get_bytes(&r, WEFT_CRDT_FIELD_MAX, &out->field, &out->field_len);
        if (crdt_get_varint(&r, &n) < 0 || n > crdt_rbuf_left(&r) / (WEFT_CRDT_ORIGIN_LEN + 1))
            return WEFT_EMALFORMED;
        out->tags = p + r.pos;
        out->ntags = (size_t)n;
        for (uint64_t i = 0; i < n; i++) {
            if (crdt_get_id(&r, &id) < 0)
                return WEFT_EMALFORMED;
            if (i > 0 && crdt_id_cmp(&prev, &id) >= 0) /* strictly ascending: canonical */
                return WEFT_EMALFORMED;
            prev = id;
        }
        break;
    }
    case WEFT_CRDT_INSERT: {
        uint8_t has;
        if (crdt_get_u8(&r, &has) < 0 || has > 1)
            return WEFT_EMALFORMED;
        out->has_parent = has;
        if (has && crdt_get_id(&r, &out->parent) < 0)
            return WEFT_EMALFORMED;
        if (crdt_rbuf_left(&r) > WEFT_CRDT_VALUE_MAX)
            return WEFT_EMALFORMED;
        out->value = p + r.pos;
        out->value_len = crdt_rbuf_left(&r);
        r.pos = len;
        break;
    }
    case WEFT_CRDT_DELETE:
        crdt_get_id(&r, &out->parent);
        break;
    }
    if (r.bad || r.pos != len)
        return WEFT_EMALFORMED;
    return 0;
}

int weft_crdt_op_encode(const weft_crdt_op_t *op, uint8_t *buf, size_t cap, size_t *out_len)
{
    crdt_payload_t pl;
    crdt_wbuf_t w;
    int rc;
    if (out_len)
        *out_len = 0;
    if (op == NULL || op->context_len > WEFT_CRDT_CONTEXT_MAX ||
        op->key_len > WEFT_CRDT_KEY_MAX || op->seq == 0 ||
        (op->context_len && !op->context) || (op->key_len && !op->key) ||
        (op->payload_len && !op->payload))
        return WEFT_EARG;
    rc = crdt_payload_parse(op->type, op->kind, op->payload, op->payload_len, &pl);
    if (rc < 0)
        return WEFT_EARG;
    crdt_wbuf_fixed(&w, buf, cap);
    crdt_put_u8(&w, WEFT_CRDT_OP_VERSION);
    crdt_put_bytes(&w, op->context, op->context_len);
    crdt_put_bytes(&w, op->key, op->key_len);
    crdt_put_u8(&w, op->type);
    crdt_put_u8(&w, op->kind);
    crdt_put(&w, op->origin, WEFT_CRDT_ORIGIN_LEN);
    crdt_put_varint(&w, op->seq);
    crdt_put_varint(&w, op->hlc);
    crdt_put_bytes(&w, op->payload, op->payload_len);
    return crdt_wbuf_fixed_end(&w, out_len);
}

int weft_crdt_op_decode(const uint8_t *bytes, size_t len, weft_crdt_op_t *out)
{
    crdt_rbuf_t r;
    crdt_payload_t pl;
    const uint8_t *origin;
    uint8_t version;
    if (bytes == NULL || out == NULL)
        return WEFT_EMALFORMED;
    memset(out, 0, sizeof *out);
    crdt_rbuf_init(&r, bytes, len);
    if (crdt_get_u8(&r, &version) < 0 || version != WEFT_CRDT_OP_VERSION)
        return WEFT_EMALFORMED;
    crdt_get_bytes(&r, WEFT_CRDT_CONTEXT_MAX, &out->context, &out->context_len);
    crdt_get_bytes(&r, WEFT_CRDT_KEY_MAX, &out->key, &out->key_len);
    crdt_get_u8(&r, &out->type);
    crdt_get_u8(&r, &out->kind);
    if (crdt_get(&r, WEFT_CRDT_ORIGIN_LEN, &origin) < 0)
        return WEFT_EMALFORMED;
    memcpy(out->origin, origin, WEFT_CRDT_ORIGIN_LEN);
    crdt_get_varint(&r, &out->seq);
    crdt_get_varint(&r, &out->hlc);
    crdt_get_bytes(&r, WEFT_CRDT_PAYLOAD_MAX, &out->payload, &out->payload_len);
    if (r.bad || r.pos != len || out->seq == 0)
        return WEFT_EMALFORMED;
    if (crdt_payload_parse(out->type, out->kind, out->payload, out->payload_len, &pl) < 0)
        return WEFT_EMALFORMED;
    return 0;
}

weft_crdt_id_t weft_crdt_op_id(const weft_crdt_op_t *op)
{
    weft_crdt_id_t id;
    memcpy(id.origin, op->origin, WEFT_CRDT_ORIGIN_LEN);
    id.seq = op->seq;
    return id;
}

int weft_crdt_stamp_cmp(uint64_t hlc_a, const uint8_t *origin_a, uint64_t seq_a,
                        uint64_t hlc_b, const uint8_t *origin_b, uint64_t seq_b)
{
    int c;
    if (hlc_a != hlc_b)
        return hlc_a < hlc_b ? -1 : 1;
    c = memcmp(origin_a, origin_b, WEFT_CRDT_ORIGIN_LEN);
    if (c)
        return c < 0 ? -1 : 1;
    return (seq_a > seq_b) - (seq_a < seq_b);
}

int weft_crdt_payload_map_set(const uint8_t *field, size_t field_len, const uint8_t *value,
                              size_t value_len, uint8_t *buf, size_t cap, size_t *out_len)
{
    crdt_wbuf_t w;
    if (field_len > WEFT_CRDT_FIELD_MAX || value_len > WEFT_CRDT_VALUE_MAX)
        return WEFT_EARG;
    crdt_wbuf_fixed(&w, buf, cap);
    crdt_put_bytes(&w, field, field_len);
    crdt_put(&w, value, value_len);
    return crdt_wbuf_fixed_end(&w, out_len);
}

int weft_crdt_payload_rga_insert(const weft_crdt_id_t *parent, const uint8_t *value,
                                 size_t value_len, uint8_t *buf, size_t cap, size_t *out_len)
{
    crdt_wbuf_t w;
    if (value_len > WEFT_CRDT_VALUE_MAX || (parent && parent->seq == 0))
        return WEFT_EARG;
    crdt_wbuf_fixed(&w, buf, cap);
    crdt_put_u8(&w, parent != NULL);
    if (parent)
        crdt_put_id(&w, parent);
    crdt_put(&w, value, value_len);
    return crdt_wbuf_fixed_end(&w, out_len);
}

int weft_crdt_payload_rga_delete(const weft_crdt_id_t *id, uint8_t *buf, size_t cap,
                                 size_t *out_len)
{
    crdt_wbuf_t w;
    if (id == NULL || id->seq == 0)
        return WEFT_EARG;
    crdt_wbuf_fixed(&w, buf, cap);
    crdt_put_id(&w, id);
    return crdt_wbuf_fixed_end(&w, out_len);
}
