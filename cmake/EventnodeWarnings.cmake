# Warnings apply to our own targets only, never globally.
function(eventnode_set_warnings target)
  # -Wno-restrict: GCC 12 reports false overlaps in std::string's operator+
  # under optimisation (GCC bug 105651); the warning says nothing about our code.
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wno-restrict)
endfunction()
