/*
 * src/cli/cli.h — private header of the `weft` command-line program.
 *
 * The CLI sits on top of the public embedding API (include/weft) and uses
 * nothing else of the engine. Each command lives in its own file
 * (run.c, inspect.c) and returns the process exit code; the shared helpers
 * (file reading, number parsing, printing) live in util.c.
 */
#ifndef WEFT_CLI_H
#define WEFT_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "weft/profile.h"
#include "weft/weft.h"

/* Process exit codes, documented in `weft --help`. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1, /* cannot read, decode, validate, link or call the module */
    CLI_EXIT_USAGE = 2, /* bad command, option or argument */
    CLI_EXIT_TRAP = 3,  /* the guest trapped */
};

/* Commands: argv[0] is the command name. */
int cli_run(int argc, char **argv);
int cli_inspect(int argc, char **argv);
int cli_db(int argc, char **argv);
int cli_serve(int argc, char **argv);
/* Runs weft-node (beside weft) with argv: the network commands. Returns
 * only on failure (reported). */
int cli_exec_node(int argc, char **argv);

/* Help texts, printed on `weft help CMD`, `weft CMD --help` (stdout) and
 * after a usage error (stderr). */
void cli_usage(FILE *out);
void cli_run_usage(FILE *out);
void cli_inspect_usage(FILE *out);
void cli_db_usage(FILE *out);
void cli_serve_usage(FILE *out);

/* Prints "weft: <message>" and a newline to stderr. */
void cli_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* The last component of a path, borrowed from it (trailing slashes are not
 * part of it). */
const char *cli_file_name(const char *path);

/* After a usage error: "weft: see 'weft CMD --help' for usage" on stderr
 * (cmd NULL: 'weft --help'), instead of the whole help. */
void cli_usage_hint(const char *cmd);

/* The data directory: `given` (--data-dir), else $WEFT_DATA_DIR, else
 * $XDG_DATA_HOME/weft, else ~/.local/share/weft. A malloc'ed path, or NULL
 * when none can be found. */
char *cli_data_dir(const char *given);

/* Reads a whole file into a malloc'ed buffer owned by the caller; path "-"
 * reads stdin to its end. Returns 0, or -1 with errno set. */
int cli_read_file(const char *path, uint8_t **out, size_t *out_len);
/* 1 when the bytes look like WebAssembly text format (after blanks, "(" or
 * a ";;" comment), which weft does not parse; then cli_wat_error says so
 * and how to convert it (path "-" is stdin). */
int cli_is_wat(const uint8_t *p, size_t len);
void cli_wat_error(const char *path);

/* Parses an integer argument: optional '-', then decimal digits or 0x/0X and
 * hex digits. An i32 accepts -2^31 .. 2^32-1 (values over INT32_MAX are taken
 * as their two's-complement bit pattern), an i64 likewise. Returns 0 or -1. */
int cli_parse_i32(const char *s, int32_t *out);
int cli_parse_i64(const char *s, int64_t *out);
/* Parses a float argument: anything strtof/strtod accept in full
 * (decimal, hex float, inf, nan). Returns 0 or -1. */
int cli_parse_f32(const char *s, float *out);
int cli_parse_f64(const char *s, double *out);
/* Parses a v128 argument into its 16 bytes (lane 0 first, as in memory):
 * a shape, ':' and its lanes separated by ',' ("i32x4:1,2,3,4",
 * "f32x4:0.5,-1,inf,nan", "i8x16:0,1,...,15"; shapes i8x16, i16x8, i32x4,
 * i64x2, f32x4, f64x2; integer lanes as cli_parse_i32 takes them, in the
 * lane's range), the same with blanks ("i32x4 0x1 0x2 0x3 0x4", what
 * `weft run` prints), or 0x and 32 hex digits, the bytes in memory order.
 * Returns 0 or -1 (unknown shape, wrong lane count, a lane out of range). */
int cli_parse_v128(const char *s, uint8_t out[16]);
/* Parses a non-negative count with an optional binary suffix K, M or G
 * (case-insensitive, e.g. "64M"). Returns 0 or -1 (junk, overflow). */
int cli_parse_size(const char *s, uint64_t *out);
/* Parses a duration: a non-negative integer and a unit, ns, us, ms, s, m or
 * h ("500ms", "2s", "1m"); a bare integer is seconds. Stores nanoseconds.
 * Returns 0 or -1 (junk, unknown unit, overflow). */
int cli_parse_duration(const char *s, uint64_t *out_ns);

/* "interp", "jit" or "auto": the WEFT_TIER_*, else -1. A compiled tier
 * where there is none is said on stderr (it then interprets). */
int cli_parse_tier(const char *s);
/* The name of WEFT_TIER_* tier ("interp", "jit" or "auto"). */
const char *cli_tier_name(int tier);
/* The tier weft run and weft serve use unless told: auto where the
 * compiled tier is available, else interp (docs/jit.md). */
int cli_default_tier(void);

/* Writes a WebAssembly name (not NUL-terminated, may hold any byte) with
 * control characters, quotes, backslashes and non-ASCII escaped as \xx. */
void cli_print_name(FILE *out, const char *name, size_t len);

/* Writes n bytes as 2n lowercase hex digits and a NUL to out. */
void cli_hex(const uint8_t *p, size_t n, char *out);
/* Writes a function type as "(i32, i64) -> f64", "() -> ()", ... */
void cli_print_functype(FILE *out, const weft_functype_t *ft);
/* Writes a value in the format `weft run` prints results in. */
void cli_print_val(FILE *out, const weft_val_t *v);

/* ---- abi.c: printing the import check of weft/profile.h ----------------- */

/* Writes "wasi_snapshot_preview1 (WASI preview 1) and nx (...)". */
void cli_abi_print_list(FILE *out);
/* What is wrong, e.g. "expected (i32, i32) -> i32, module declares (i32) ->
 * i32" (no newline). */
void cli_link_print_problem(FILE *out, const weft_bad_import_t *b);
/* One line per bad import ("  func env.log: (i32) -> (): no ABI profile has
 * the namespace 'env'"), at most max of them and then a count. */
void cli_link_print(FILE *out, const weft_link_report_t *l, size_t max);

#endif
