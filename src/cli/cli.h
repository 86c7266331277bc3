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
/* Parses a non-negative count with an optional binary suffix K, M or G
 * (case-insensitive, e.g. "64M"). Returns 0 or -1 (junk, overflow). */
int cli_parse_size(const char *s, uint64_t *out);
/* Parses a duration: a non-negative integer and a unit, ns, us, ms, s, m or
 * h ("500ms", "2s", "1m"); a bare integer is seconds. Stores nanoseconds.
 * Returns 0 or -1 (junk, unknown unit, overflow). */
int cli_parse_duration(const char *s, uint64_t *out_ns);

/* Writes a WebAssembly name (not NUL-terminated, may hold any byte) with
 * control characters, quotes, backslashes and non-ASCII escaped as \xx. */
void cli_print_name(FILE *out, const char *name, size_t len);

/* Writes n bytes as 2n lowercase hex digits and a NUL to out. */
void cli_hex(const uint8_t *p, size_t n, char *out);
/* Writes a function type as "(i32, i64) -> f64", "() -> ()", ... */
void cli_print_functype(FILE *out, const weft_functype_t *ft);
/* Writes a value in the format `weft run` prints results in. */
void cli_print_val(FILE *out, const weft_val_t *v);

/* ---- abi.c: the ABI profiles and the import check ----------------------- */

/* The profiles `weft run` provides, one per import namespace: i-th
 * namespace ("wasi_snapshot_preview1", "nx") and its title, or NULL. */
size_t cli_abi_count(void);
const char *cli_abi_name(size_t i);
const char *cli_abi_title(size_t i);
/* Writes "wasi_snapshot_preview1 (WASI preview 1) and nx (...)". */
void cli_abi_print_list(FILE *out);

typedef enum {
    CLI_LINK_UNKNOWN_NAMESPACE, /* no profile has the import's module name */
    CLI_LINK_UNKNOWN_NAME,      /* the profile has no function of that name */
    CLI_LINK_NOT_A_FUNCTION,    /* profiles provide functions only */
    CLI_LINK_WRONG_TYPE,        /* a function of another type (see expected) */
} cli_link_problem_t;

typedef struct {
    weft_externdesc_t import; /* names borrowed from the module */
    cli_link_problem_t problem;
    weft_functype_t *expected; /* CLI_LINK_WRONG_TYPE: the profile's type (owned) */
} cli_bad_import_t;

typedef struct {
    cli_bad_import_t *bad; /* every import no profile provides, in module order */
    size_t nbad;
    unsigned used; /* bit i: the module imports from profile i */
} cli_link_t;

/* Checks every import of `module` against the profiles. Returns 0 (out
 * filled, nbad 0 when the module links) or -1 when out of memory. Free out
 * with cli_link_free; it borrows names from the module. */
int cli_link_check(const weft_module_t *module, cli_link_t *out);
void cli_link_free(cli_link_t *l);
/* "unknown_namespace", "unknown_name", "not_a_function", "wrong_type". */
const char *cli_link_problem_name(cli_link_problem_t p);
/* What is wrong, e.g. "expected (i32, i32) -> i32, module declares (i32) ->
 * i32" (no newline). */
void cli_link_print_problem(FILE *out, const cli_bad_import_t *b);
/* One line per bad import ("  func env.log: (i32) -> (): no ABI profile has
 * the namespace 'env'"), at most max of them and then a count. */
void cli_link_print(FILE *out, const cli_link_t *l, size_t max);

#endif
