/*
 * badwasi.c — the core module of the `badwasi` test component
 * (badwasi.wit): run() calls output-stream.write as the component imports
 * it, without the contents WASI's write takes; the host traps.
 */
#include <stdint.h>

__attribute__((import_module("wasi:cli/stdout@0.2.3"), import_name("get-stdout")))
int32_t get_stdout(void);
__attribute__((import_module("wasi:io/streams@0.2.3"),
               import_name("[method]output-stream.write")))
int32_t stream_write(int32_t self);

__attribute__((export_name("run"))) uint32_t run(void)
{
    return (uint32_t)stream_write(get_stdout());
}
