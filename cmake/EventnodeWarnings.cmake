# Warnings apply to our own targets only, never globally.
function(eventnode_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # -Wno-restrict: GCC 12 reports false overlaps in std::string's operator+
    # under optimisation (GCC bug 105651); the warning says nothing about our code.
    # GCC only: clang (the fuzz preset) has no such warning and would warn about the option.
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  # GCC 12 at -O2 calls the std::string members of a braced aggregate
  # temporary "maybe uninitialized" (GCC bug 107138). -Wuninitialized, the
  # definite case, stays on, and the sanitizer build checks at run time.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
