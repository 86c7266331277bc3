/*
 * console.h — the web console's files as compiled into the binary
 * (src/server only). src/server/embed.cmake generates the table from
 * src/server/console/ at build time; console.c serves it (docs/console.md).
 */
#ifndef WEFT_SERVER_CONSOLE_H
#define WEFT_SERVER_CONSOLE_H

#include <stddef.h>

typedef struct {
    const char *name;          /* the file's name, "index.html" */
    const unsigned char *data; /* its bytes (static, never freed) */
    size_t size;
    const char *etag;          /* quoted: "\"<32 hex digits>\"" */
} srv_asset_t;

extern const srv_asset_t srv_assets[];
extern const size_t srv_nassets;

#endif
