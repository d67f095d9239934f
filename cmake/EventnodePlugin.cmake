# eventnode_add_plugin(<name> SOURCES <files...> [LIBRARIES <targets...>] [NO_INSTALL])
#
# Builds lib<name>.so, a MODULE library with hidden visibility that the node
# loads at run time, installed to <prefix>/lib/eventnode/plugins. Used in tree
# and by out-of-tree plugins through the installed eventnode_plugin_api package.
include(GNUInstallDirs)

function(eventnode_add_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "" "SOURCES;LIBRARIES" ${ARGN})
  set(target eventnode_plugin_${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE eventnode::plugin_api ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME ${name}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(DEFINED EVENTNODE_PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${EVENTNODE_PLUGIN_OUTPUT_DIRECTORY})
  endif()
  if(NOT ARG_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/eventnode/plugins)
  endif()
  if(COMMAND eventnode_set_warnings)
    eventnode_set_warnings(${target})
    eventnode_set_sanitizers(${target})
  endif()
endfunction()
