/*
 * weft/crdt_json.h — a CRDT state (weft/crdt.h) as JSON text, for people
 * and tools: {"type": "gcounter", "value": 7}, {"type": "lww_map", "value":
 * [{"field": ..., "value": ...}]}, {"type": "rga", "value": [...]}, ...
 * Byte strings are JSON strings when UTF-8, else {"hex": "..."}.
 */
#ifndef WEFT_CRDT_JSON_H
#define WEFT_CRDT_JSON_H

#include <stdint.h>

#include "crdt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "gcounter", "pncounter", "lww", "lww_map", "orset", "rga" or "unknown". */
const char *weft_crdt_type_name(uint8_t type);
/* The state as compact JSON: a malloc'ed string the caller frees. Returns
 * 0, WEFT_ENOMEM, or an error of reading the state. */
int weft_crdt_json(const weft_crdt_state_t *st, char **out);

#ifdef __cplusplus
}
#endif
#endif
