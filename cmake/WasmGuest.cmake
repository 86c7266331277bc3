# cmake/WasmGuest.cmake — compiling C guest programs to wasm32.
#
# Finds a clang able to build and link wasm32 (clang + lld) and defines
# weft_add_wasm() (freestanding modules) and weft_add_wasi_program() (C
# programs with wasi-libc). Sets WEFT_WASM_OK and WEFT_WASI_OK; without such
# a clang (or without wasi-libc), the folders that build guests (bench/,
# examples/, tests/guests/) skip them with a notice and the rest of the
# build is unaffected. Guests are built by custom commands with
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


# WASI programs: C with wasi-libc (Debian wasi-libc + libclang-rt-14-dev-wasm32)
# linked as a command (_start calls main). WEFT_WASI_OK says whether clang can
# link one; without it the folders skip their WASI programs with a notice.
set(WEFT_WASI_OK OFF)
if(WEFT_WASM_OK)
  file(WRITE ${probe_dir}/probe_wasi.c
       "#include <stdio.h>\nint main(void) { printf(\"%g\\n\", 0.5); return 0; }\n")
  execute_process(
    COMMAND ${WEFT_CLANG} --target=wasm32-wasi -O2 -o ${probe_dir}/probe_wasi.wasm
            ${probe_dir}/probe_wasi.c
    RESULT_VARIABLE probe_rc OUTPUT_QUIET ERROR_QUIET)
  if(probe_rc EQUAL 0)
    set(WEFT_WASI_OK ON)
  else()
    message(STATUS "clang cannot link wasm32-wasi programs (install wasi-libc and "
                   "libclang-rt-14-dev-wasm32): WASI guests and their tests are skipped")
  endif()
endif()

# Same reasons as the freestanding flags: a 1 MiB stack placed first (an
# overflow traps instead of corrupting the heap; deep recursion tests fit) and
# no FP contraction, so float results can be compared with a native build.
set(WEFT_WASI_FLAGS
    --target=wasm32-wasi -O2 -ffp-contract=off -Wall -Wextra
    -Wl,--stack-first -Wl,-z,stack-size=1048576)

# weft_add_wasi_program(OUTPUT SOURCES src... [FLAGS flag...] [DEPENDS file...])
# Compiles and links C sources into the WASI command module OUTPUT (its
# folder is created). FLAGS are extra compiler/linker flags (-D..., -l...).
function(weft_add_wasi_program output)
  cmake_parse_arguments(W "" "" "SOURCES;FLAGS;DEPENDS" ${ARGN})
  get_filename_component(name ${output} NAME)
  get_filename_component(dir ${output} DIRECTORY)
  add_custom_command(
    OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${WEFT_CLANG} ${WEFT_WASI_FLAGS} ${W_FLAGS} -o ${output} ${W_SOURCES}
    DEPENDS ${W_SOURCES} ${W_DEPENDS}
    COMMENT "Building WASI program ${name}"
    VERBATIM)
endfunction()
