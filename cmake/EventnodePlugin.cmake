# eventnode_add_plugin(<name> SOURCES <files...> [LIBRARIES <targets...>] [NO_INSTALL]), and the
# in-tree helpers eventnode_add_plugin_core and eventnode_add_plugin_tests below.
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

# eventnode_add_plugin_core(<target> SOURCES <files...> [LIBRARIES <targets...>] [PRIVATE_LIBRARIES <targets...>])
#
# A plugin's logic as a static library (position-independent, hidden
# visibility) that both its MODULE and its unit tests link, so the tests run
# the code the node loads. The plugin's src/ folder is on its include path.
function(eventnode_add_plugin_core target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES;PRIVATE_LIBRARIES" ${ARGN})
  add_library(${target} STATIC ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON CXX_VISIBILITY_PRESET hidden)
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(${target} PUBLIC eventnode::plugin_api ${ARG_LIBRARIES} PRIVATE ${ARG_PRIVATE_LIBRARIES})
  if(COMMAND eventnode_set_warnings)
    eventnode_set_warnings(${target})
    eventnode_set_sanitizers(${target})
  endif()
endfunction()

# eventnode_add_plugin_tests(<target> SOURCES <files...> LIBRARIES <targets...> [TEST_PREFIX <prefix>])
#
# A GoogleTest binary for a plugin's unit tests, registered with ctest.
# TEST_PREFIX goes in front of each test's name (`meter.` lets `ctest -R meter` find them).
function(eventnode_add_plugin_tests target)
  cmake_parse_arguments(ARG "" "TEST_PREFIX" "SOURCES;LIBRARIES" ${ARGN})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_LIBRARIES} GTest::gtest_main)
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  if(COMMAND eventnode_set_warnings)
    eventnode_set_warnings(${target})
    eventnode_set_sanitizers(${target})
  endif()
  # The label lets the tsan test preset pick the plugins' unit tests without their integration suites.
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 TEST_PREFIX "${ARG_TEST_PREFIX}" PROPERTIES LABELS plugin)
endfunction()
