# Warnings apply to our own targets only, never globally.
function(eventnode_set_warnings target)
  # -Wno-restrict: GCC 12 reports false overlaps in std::string's operator+
  # under optimisation (GCC bug 105651); the warning says nothing about our code.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-restrict)
  # GCC 12 at -O2 calls the std::string members of a braced aggregate
  # temporary "maybe uninitialized" (GCC bug 107138). -Wuninitialized, the
  # definite case, stays on, and the sanitizer build checks at run time.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
