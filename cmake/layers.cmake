# One static library per layer. A layer sees only its own headers and those of the layers
# declared before it: each target gets a private include root holding symlinks to exactly
# those folders, so `#include "models/x.h"` from exec/ fails to compile.

set(UNICORN_LAYERS "" CACHE INTERNAL "")
set(UNICORN_SRC ${CMAKE_SOURCE_DIR}/src)

# ISA-specific kernels: files named *_avx2.cc / *_avx512.cc are compiled for that ISA and
# only called after run-time detection (core/cpu_features.h). The rest of the build is
# baseline x86-64 (no -march=native).
set(UNICORN_AVX2_FLAGS -O3 -mavx2 -mfma -mf16c)
set(UNICORN_AVX512_FLAGS -O3 -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq
    -mavx512vnni -mavx512bf16)

function(unicorn_isa_flags)
  foreach(f ${ARGN})
    if(f MATCHES "_avx512\\.cc$")
      set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${UNICORN_AVX512_FLAGS}")
    elseif(f MATCHES "_avx2\\.cc$")
      set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "${UNICORN_AVX2_FLAGS}")
    elseif(f MATCHES "_scalar\\.cc$")
      set_source_files_properties(${f} PROPERTIES COMPILE_OPTIONS "-O3")
    endif()
  endforeach()
endfunction()

# The include root of a layer: symlinks to itself and every earlier layer.
function(unicorn_layer_include_root layer out_var)
  set(root ${CMAKE_BINARY_DIR}/layer_include/${layer})
  file(MAKE_DIRECTORY ${root})
  foreach(dep ${UNICORN_LAYERS} ${layer})
    if(NOT EXISTS ${root}/${dep})
      file(CREATE_LINK ${UNICORN_SRC}/${dep} ${root}/${dep} SYMBOLIC)
    endif()
  endforeach()
  set(${out_var} ${root} PARENT_SCOPE)
endfunction()

function(unicorn_layer layer)
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${UNICORN_SRC}/${layer}/*.cc)
  list(FILTER srcs EXCLUDE REGEX "/cuda/|/vulkan/")
  unicorn_isa_flags(${srcs})
  if(NOT srcs)
    # A layer that has no code yet still gets a target so later layers can link to it.
    file(WRITE ${CMAKE_BINARY_DIR}/empty_${layer}.cc "")
    set(srcs ${CMAKE_BINARY_DIR}/empty_${layer}.cc)
  endif()
  add_library(unicorn_${layer} STATIC ${srcs})
  unicorn_layer_include_root(${layer} root)
  target_include_directories(unicorn_${layer} PRIVATE ${root})
  foreach(dep ${UNICORN_LAYERS})
    target_link_libraries(unicorn_${layer} PRIVATE unicorn_${dep})
  endforeach()
  if(NOT layer STREQUAL "core")
    target_link_libraries(unicorn_${layer} PRIVATE fmt::fmt)
  endif()
  set(UNICORN_LAYERS ${UNICORN_LAYERS} ${layer} CACHE INTERNAL "")
endfunction()

# An executable or test that belongs to `layer`: sees that layer's include root.
function(unicorn_target_in_layer target layer)
  unicorn_layer_include_root(${layer} root)
  target_include_directories(${target} PRIVATE ${root})
  list(FIND UNICORN_LAYERS ${layer} idx)
  math(EXPR last "${idx}")
  foreach(i RANGE 0 ${last})
    list(GET UNICORN_LAYERS ${i} dep)
    target_link_libraries(${target} PRIVATE unicorn_${dep})
  endforeach()
  target_link_libraries(${target} PRIVATE fmt::fmt)
endfunction()
