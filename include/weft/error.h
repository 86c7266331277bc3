/*
 * weft/error.h — error codes shared by every weft API.
 *
 * Functions that can fail return an int: 0 on success, a negative WEFT_E*
 * code on failure. The code says what kind of failure; the detail (section
 * and byte offset of a bad module, the name of an unresolved import) is in a
 * message the caller fetches from the object that failed (weft_module_new's
 * out_msg, weft_store_errmsg()).
 *
 * A trap is not an error of the embedder: a call that trapped returns
 * WEFT_ETRAP and the trap's code and message are kept in the store
 * (weft_store_trap()).
 */
#ifndef WEFT_ERROR_H
#define WEFT_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* XX(name, value, message) */
#define WEFT_ERRNO_MAP(XX)                                                    \
    XX(OK, 0, "success")                                                      \
    XX(NOMEM, -1, "out of memory")                                            \
    XX(MALFORMED, -2, "malformed module")                                     \
    XX(INVALID, -3, "invalid module")                                         \
    XX(UNLINKABLE, -4, "unresolved or mismatched import")                     \
    XX(TRAP, -5, "trap")                                                      \
    XX(ARG, -6, "invalid argument")                                           \
    XX(NOTFOUND, -7, "not found")                                             \
    XX(LIMIT, -8, "limit exceeded")                                           \
    XX(IO, -9, "input/output error")                                          \
    XX(DAMAGED, -10, "data directory damaged")                                \
    XX(INTERRUPTED, -11, "interrupted")                                      \
    XX(SERIAL, -12, "needs the serial write path")

typedef enum {
#define XX(name, value, msg) WEFT_E##name = (value),
    WEFT_ERRNO_MAP(XX)
#undef XX
} weft_errno_t;

/* Returns a static string describing code; never NULL. */
const char *weft_strerror(int code);

/* Returns the symbolic name of code ("WEFT_EMALFORMED"); never NULL. */
const char *weft_errname(int code);

#ifdef __cplusplus
}
#endif
#endif
