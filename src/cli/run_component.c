/*
 * src/cli/run_component.c — `weft run COMPONENT.wasm`: a component run as
 * a WASI preview 2 command (issue 15, docs/components.md).
 *
 * As for modules, this is one call of a one-call node (run.c opened the
 * component in it as an app): the node's component adapter
 * (src/node/abi_component.c) instantiates it against the WASI preview 2
 * subset of weft/wasip2.h with the run's arguments, --env variables and
 * the process's standard streams, the --dir directories as its
 * wasi:filesystem preopens (imports outside the subset trap when
 * called: an opened app has no manifest to refuse them), and calls its
 * `wasi:cli/run@0.2.x#run` export, or the function --invoke names (its
 * result is printed: a string as it is, anything else as JSON). --fuel,
 * --max-memory, --max-stack and --timeout bound the call as for modules,
 * and Ctrl-C stops it.
 */
#include <string.h>

#include "cli.h"
#include "run.h"

int cli_run_component(run_t *r, const char *app_id, int from_stdin)
{
    const run_opts_t *o = r->o;
    weft_call_result_t *res = NULL;
    if (from_stdin && run_stdin_null() != 0)
        return CLI_EXIT_ERROR;
    weft_call_req_t req;
    memset(&req, 0, sizeof req);
    req.context = r->context;
    req.app = app_id;
    req.function = o->invoke; /* NULL: wasi:cli/run's run */
    req.argv = (const char *const *)o->args;
    req.argc = (size_t)o->nargs;
    /* argv[0]: the file name without directories, as for modules */
    req.argv0 = from_stdin ? "stdin" : cli_file_name(o->path);
    req.stdio = 1;
    req.dirs = o->dirs; /* --dir: the component's wasi:filesystem preopens */
    req.ndirs = o->ndirs;
    int rc = run_call(r, &req, &res);
    if (rc != 0) {
        cli_error("%s: %s", o->path, weft_strerror(rc));
        return CLI_EXIT_ERROR;
    }
    int status = run_outcome(r, res);
    weft_call_result_delete(res);
    return status;
}
