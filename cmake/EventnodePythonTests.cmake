# Integration tests written in Python with Debian's python3-websockets (a
# client nobody here wrote). EVENTNODE_TEST_PYTHON is the first python3 that
# can import websockets: /usr/bin first, since a python3 earlier on PATH
# (pyenv, a venv) may lack the Debian package.
if(NOT EVENTNODE_TEST_PYTHON)
  find_program(_eventnode_system_python3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
  find_program(_eventnode_path_python3 NAMES python3)
  foreach(candidate IN ITEMS ${_eventnode_system_python3} ${_eventnode_path_python3})
    execute_process(COMMAND ${candidate} -c "import websockets"
                    RESULT_VARIABLE _eventnode_websockets_missing OUTPUT_QUIET ERROR_QUIET)
    if(_eventnode_websockets_missing EQUAL 0)
      set(EVENTNODE_TEST_PYTHON ${candidate} CACHE FILEPATH "python3 with the websockets module, for the Python integration tests")
      break()
    endif()
  endforeach()
endif()
if(NOT EVENTNODE_TEST_PYTHON)
  message(WARNING "no python3 can import websockets; install python3-websockets or set EVENTNODE_TEST_PYTHON. "
                  "The Python integration tests will fail.")
  set(EVENTNODE_TEST_PYTHON python3)
endif()

# eventnode_add_python_tests(<prefix> LABEL <label> TIMEOUT <s> FILES <test_*.py...> [ENVIRONMENT <VAR=value...>])
#
# One ctest per file, named <prefix>.<file stem>, run with `python3 -m unittest`
# in the calling folder, with EVENTNODE_BINARY pointing at the node.
function(eventnode_add_python_tests prefix)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "FILES;ENVIRONMENT" ${ARGN})
  foreach(test_file IN LISTS ARG_FILES)
    get_filename_component(test_stem ${test_file} NAME_WE)
    add_test(NAME ${prefix}.${test_stem}
             COMMAND ${EVENTNODE_TEST_PYTHON} -m unittest -v ${test_file}
             WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
    set_tests_properties(${prefix}.${test_stem} PROPERTIES
      TIMEOUT ${ARG_TIMEOUT}
      ENVIRONMENT "EVENTNODE_BINARY=$<TARGET_FILE:eventnode>;PYTHONDONTWRITEBYTECODE=1;${ARG_ENVIRONMENT}"
      LABELS "${ARG_LABEL};integration")
  endforeach()
endfunction()
