/*
 * run_export.c — a Numax-style module: it exports `run` (no _start) and is
 * built as a WASI reactor. weft run must call run; it counts its runs in
 * the database and logs the count.
 */
#include <stdio.h>

#include "nx.h"

__attribute__((export_name("run"))) void run(void)
{
    char buf[32], line[64];
    int n = 0;
    int32_t len = nx_db_get_str("runs", buf, sizeof buf);
    if (len > 0) sscanf(buf, "%d", &n);
    snprintf(buf, sizeof buf, "%d", n + 1);
    nx_db_set_str("runs", buf);
    snprintf(line, sizeof line, "run number %d", n + 1);
    nx_log(line);
}
