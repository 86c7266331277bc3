# Writes OUT, a header defining WEFT_BUILD_ID: a SHA-256 over the engine's
# sources (SRC/src/engine, include/weft) and EXTRA (the compiler and build
# type). The code cache (src/engine/jit/cache.c, docs/jit.md) keys compiled
# code by it, so any change to what makes or runs that code, committed or
# not, makes earlier cache files foreign. Run by the build (cmake -P) when
# one of those files changes; OUT is rewritten only when the id changes.
file(GLOB_RECURSE files ${SRC}/src/engine/*.c ${SRC}/src/engine/*.h ${SRC}/src/engine/*.def
     ${SRC}/include/weft/*.h)
list(SORT files)
set(all "${EXTRA}")
foreach(f IN LISTS files)
  file(SHA256 ${f} h)
  string(APPEND all "${h}")
endforeach()
string(SHA256 id "${all}")
file(WRITE ${OUT}.tmp "#define WEFT_BUILD_ID \"${id}\"\n")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUT}.tmp ${OUT})
file(REMOVE ${OUT}.tmp)
