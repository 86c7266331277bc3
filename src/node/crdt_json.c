/*
 * crdt_json.c — weft/crdt_json.h: a CRDT state as JSON, the one rendering
 * `weft db DIR crdt KEY` and GET /v1/contexts/{name}/crdt/{key} share.
 *
 * Byte strings come out as JSON strings when they are UTF-8, else as
 * {"hex": "..."}, so the text is valid JSON whatever a guest stored.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "weft/crdt_json.h"
#include "weft/error.h"

const char *weft_crdt_type_name(uint8_t type)
{
    switch (type) {
    case WEFT_CRDT_GCOUNTER: return "gcounter";
    case WEFT_CRDT_PNCOUNTER: return "pncounter";
    case WEFT_CRDT_LWW_REG: return "lww";
    case WEFT_CRDT_LWW_MAP: return "lww_map";
    case WEFT_CRDT_ORSET: return "orset";
    case WEFT_CRDT_RGA: return "rga";
    }
    return "unknown";
}

/* p[0..n) as a JSON string, or {"hex": ...} when it is not UTF-8. */
static json_t *bytes_json(const uint8_t *p, size_t n)
{
    json_t *s = json_stringn((const char *)p, n);
    char *hex;
    if (s)
        return s;
    static const char digits[] = "0123456789abcdef";
    if ((hex = malloc(2 * n + 1)) == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    hex[2 * n] = '\0';
    s = json_pack("{s:s}", "hex", hex);
    free(hex);
    return s;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A list read (entries, elements, values) as a JSON array: items of one
 * byte string each, or with pairs set, {"field", "value"} objects. */
typedef int (*list_fn)(const weft_crdt_state_t *st, uint8_t *buf, size_t cap, size_t *out_len);

static int list_json(const weft_crdt_state_t *st, list_fn fn, int pairs, json_t **out)
{
    size_t need = 0, pos = 4;
    uint8_t *buf;
    int rc = fn(st, NULL, 0, &need);
    *out = NULL;
    if (rc != 0 && rc != WEFT_ELIMIT)
        return rc;
    if ((buf = malloc(need)) == NULL)
        return WEFT_ENOMEM;
    if ((rc = fn(st, buf, need, &need)) != 0) {
        free(buf);
        return rc;
    }
    json_t *arr = json_array();
    uint32_t count = get_u32(buf);
    for (uint32_t i = 0; arr && i < count; i++) {
        const uint8_t *a = buf + pos + 4;
        size_t an = get_u32(buf + pos);
        pos += 4 + an;
        if (!pairs) {
            json_array_append_new(arr, bytes_json(a, an));
            continue;
        }
        const uint8_t *b = buf + pos + 4;
        size_t bn = get_u32(buf + pos);
        pos += 4 + bn;
        json_array_append_new(arr, json_pack("{s:o,s:o}", "field", bytes_json(a, an), "value",
                                             bytes_json(b, bn)));
    }
    free(buf);
    *out = arr;
    return arr ? 0 : WEFT_ENOMEM;
}

/* The JSON of one state: {"type": ..., "value": ...}. */
static int state_json(const weft_crdt_state_t *st, json_t **out)
{
    uint8_t type = weft_crdt_state_type(st);
    json_t *value = NULL;
    const uint8_t *v;
    size_t n;
    int rc = 0;
    switch (type) {
    case WEFT_CRDT_GCOUNTER: {
        uint64_t u = 0;
        rc = weft_crdt_gcounter_value(st, &u);
        value = json_integer((json_int_t)u); /* JSON readers cap at 2^63 - 1 */
        break;
    }
    case WEFT_CRDT_PNCOUNTER: {
        int64_t i = 0;
        rc = weft_crdt_pncounter_value(st, &i);
        value = json_integer((json_int_t)i);
        break;
    }
    case WEFT_CRDT_LWW_REG:
        rc = weft_crdt_lww_get(st, &v, &n);
        value = rc == WEFT_ENOTFOUND ? json_null() : bytes_json(v, n);
        if (rc == WEFT_ENOTFOUND)
            rc = 0;
        break;
    case WEFT_CRDT_LWW_MAP: rc = list_json(st, weft_crdt_map_entries, 1, &value); break;
    case WEFT_CRDT_ORSET: rc = list_json(st, weft_crdt_orset_elements, 0, &value); break;
    case WEFT_CRDT_RGA: rc = list_json(st, weft_crdt_rga_values, 0, &value); break;
    }
    if (rc != 0) {
        json_decref(value);
        return rc;
    }
    *out = json_pack("{s:s,s:o}", "type", weft_crdt_type_name(type), "value", value);
    return *out ? 0 : WEFT_ENOMEM;
}


int weft_crdt_json(const weft_crdt_state_t *st, char **out)
{
    json_t *obj = NULL;
    *out = NULL;
    int rc = state_json(st, &obj);
    if (rc != 0)
        return rc;
    *out = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    return *out ? 0 : WEFT_ENOMEM;
}
