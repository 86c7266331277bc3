# cmake/WasmGuest.cmake — compiling C guest programs to wasm32.
#
# Finds a clang able to build and link wasm32 (clang + lld) and defines
# weft_add_wasm(). Sets WEFT_WASM_OK; without such a clang, the folders
# that build guests (bench/, examples/) skip them with a notice and the
# rest of the build is unaffected. Guests are built by custom commands with
# their own fixed flags, so sanitizer or debug settings never leak into
# them, and the output is deterministic (no debug info: no paths or times).

find_program(WEFT_CLANG NAMES clang clang-16 clang-15 clang-14
             DOC "clang used to compile guest programs to wasm32")

# Probe on every configure (a few ms): finding clang is not enough, it also
# needs the WebAssembly backend and wasm-ld.
set(WEFT_WASM_OK OFF)
if(WEFT_CLANG)
  set(probe_dir ${CMAKE_BINARY_DIR}/wasm-probe)
  file(WRITE ${probe_dir}/probe.c "int probe(void) { return 42; }\n")
  execute_process(
    COMMAND ${WEFT_CLANG} --target=wasm32 -nostdlib -Wl,--no-entry -Wl,--export=probe
            -o ${probe_dir}/probe.wasm ${probe_dir}/probe.c
    RESULT_VARIABLE probe_rc OUTPUT_QUIET ERROR_QUIET)
  if(probe_rc EQUAL 0)
    set(WEFT_WASM_OK ON)
  endif()
endif()
if(NOT WEFT_WASM_OK)
  message(STATUS "no clang able to build wasm32 (install clang and lld): "
                 "benchmark kernels, examples and their tests are skipped")
endif()

# Freestanding wasm32: no libc (freestanding.c supplies memset & co), a
# 1 MiB stack placed first so an overflow traps instead of corrupting data,
# no FP contraction so results match the native build bit for bit.
set(WEFT_WASM_FLAGS
    --target=wasm32 -O2 -ffreestanding -nostdlib -ffp-contract=off -Wall -Wextra
    -Wl,--no-entry -Wl,--stack-first -Wl,-z,stack-size=1048576)

# weft_add_wasm(OUTPUT SOURCES src... [EXPORTS name...] [DEPENDS file...])
# Compiles and links C sources into the wasm32 module OUTPUT.
function(weft_add_wasm output)
  cmake_parse_arguments(W "" "" "SOURCES;EXPORTS;DEPENDS" ${ARGN})
  set(export_flags)
  foreach(e IN LISTS W_EXPORTS)
    list(APPEND export_flags -Wl,--export=${e})
  endforeach()
  get_filename_component(name ${output} NAME)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${WEFT_CLANG} ${WEFT_WASM_FLAGS} ${export_flags} -o ${output} ${W_SOURCES}
    DEPENDS ${W_SOURCES} ${W_DEPENDS}
    COMMENT "Building wasm32 module ${name}"
    VERBATIM)
endfunction()

