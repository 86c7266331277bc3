/*
 * weft/engine.h — the engine: the root object every module is loaded into.
 *
 * An engine holds process-wide settings. It is immutable after creation and
 * may be used from any number of threads at once. It must outlive every
 * module and store created from it.
 */
#ifndef WEFT_ENGINE_H
#define WEFT_ENGINE_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_engine weft_engine_t;

/* Creates an engine. Returns NULL only when out of memory. Owned by the
 * caller; free with weft_engine_delete. */
weft_engine_t *weft_engine_new(void);
void weft_engine_delete(weft_engine_t *engine);

/* Version string of the weft library, e.g. "0.1.0". */
const char *weft_version(void);

#ifdef __cplusplus
}
#endif
#endif
