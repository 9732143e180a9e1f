# Writes a SPIR-V binary as a C++ source: `const uint32_t <NAME>[]` and its word count, so the
# shaders travel inside the binary. Run as `cmake -DNAME=… -DSPV=… -DOUT=… -P vulkan_embed.cmake`
# (no xxd or python at build time).
file(READ ${SPV} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR rem "${n} % 8")
if(n EQUAL 0 OR NOT rem EQUAL 0)
  message(FATAL_ERROR "${SPV}: not a SPIR-V module (${n} hex digits)")
endif()
# Little-endian bytes b0 b1 b2 b3 → the word 0xb3b2b1b0.
string(REGEX REPLACE "([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])([0-9a-f][0-9a-f])"
       "0x\\4\\3\\2\\1u," words "${hex}")
math(EXPR count "${n} / 8")
file(WRITE ${OUT} "// Generated from ${SPV} by cmake/vulkan_embed.cmake.\n#include <cstddef>\n#include <cstdint>\nnamespace unicorn::vulkan::spirv {\nextern const uint32_t ${NAME}[] = {${words}};\nextern const size_t ${NAME}_words = ${count};\n}\n")
