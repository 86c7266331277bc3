/*
 * kept_cal.c — a Calimero guest for the kept-instance test
 * (tests/node/test_node_kept.c): `scribble` answers with what the instance
 * holds (scribble.h) and whether register 9 is set, then changes it all
 * and sets register 9 (the input), which the next call must not see.
 * `noop` does nothing (bench/nodecall.c's Calimero row).
 */
#include "calimero.h"
#include "scribble.h"

CAL_EXPORT("scribble") void scribble(void)
{
    char out[160];
    char *p = scribble_state(out);
    p = scribble_num(p, " reg9=", cal_register_len(9) != CAL_REGISTER_MISSING);
    cal_input(9);
    cal_return(CAL_OK, out, (size_t)(p - out));
}

/* nothing: what a call costs (bench/nodecall.c) */
CAL_EXPORT("noop") void noop(void) {}
