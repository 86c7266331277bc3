/*
 * error.c — strings for error and trap codes, generated from the X-macro
 * lists in weft/error.h and weft/store.h so they cannot drift apart.
 */
#include "priv.h"

const char *weft_strerror(int code)
{
    switch (code) {
#define XX(name, value, msg) case value: return msg;
        WEFT_ERRNO_MAP(XX)
#undef XX
    }
    return "unknown error";
}

const char *weft_errname(int code)
{
    switch (code) {
#define XX(name, value, msg) case value: return "WEFT_E" #name;
        WEFT_ERRNO_MAP(XX)
#undef XX
    }
    return "WEFT_E?";
}

static const char *const trap_strings[] = {
#define XX(name, msg) msg,
    WEFT_TRAP_MAP(XX)
#undef XX
};

static const char *const trap_names[] = {
#define XX(name, msg) #name,
    WEFT_TRAP_MAP(XX)
#undef XX
};

const char *weft_trap_string(weft_trap_code_t code)
{
    if ((unsigned)code >= sizeof trap_strings / sizeof trap_strings[0]) return "unknown trap";
    return trap_strings[code];
}

const char *weft_trap_name(weft_trap_code_t code)
{
    if ((unsigned)code >= sizeof trap_names / sizeof trap_names[0]) return "UNKNOWN";
    return trap_names[code];
}
