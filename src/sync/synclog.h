/*
 * synclog.h — a formatted line to a sync layer's log callback (links,
 * the node's sync thread, the NATS transport), or to stderr without one.
 * Static inline: the NATS transport is a library of its own.
 */
#ifndef WEFT_SYNC_SYNCLOG_H
#define WEFT_SYNC_SYNCLOG_H

#include <stdarg.h>
#include <stdio.h>

static inline void sync_logv(void (*log)(void *user, const char *line), void *user,
                             const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    if (log)
        log(user, line);
    else
        fprintf(stderr, "%s\n", line);
}

#endif
