/*
 * weft/weft.h — umbrella header of the weft embedding API.
 *
 * Typical use:
 *   weft_engine_t *e = weft_engine_new();
 *   weft_module_new(e, bytes, len, &mod, msg, sizeof msg);
 *   weft_store_t *s = weft_store_new(e);
 *   weft_linker_t *l = weft_linker_new(s);
 *   weft_linker_define_func(l, "env", "log", ft, my_log, NULL);
 *   weft_linker_instantiate(l, mod, &inst);
 *   weft_instance_export(inst, "run", &ext);
 *   weft_func_call(s, ext.of.func, args, n, results, m);
 */
#ifndef WEFT_WEFT_H
#define WEFT_WEFT_H

#include "engine.h"
#include "error.h"
#include "extern.h"
#include "instance.h"
#include "module.h"
#include "store.h"
#include "types.h"

#endif
