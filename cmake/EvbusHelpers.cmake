# evbus_cc_library / evbus_cc_test, modelled on absl_cc_library.
#
#   evbus_cc_library(NAME common SRCS a.cc HDRS a.h DEPS absl::status PUBLIC_DEPS ...)
# creates target evbus_common with alias evbus::common. Includes are rooted at
# the repository root ("server/common/json.h").
function(evbus_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;HDRS;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target evbus_${ARG_NAME})
  if(ARG_SRCS)
    add_library(${target} STATIC ${ARG_SRCS} ${ARG_HDRS})
    target_compile_options(${target} PRIVATE ${EVBUS_WARNING_FLAGS})
    target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/proto)
    target_link_libraries(${target} PRIVATE ${ARG_DEPS} PUBLIC ${ARG_PUBLIC_DEPS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/proto)
    target_link_libraries(${target} INTERFACE ${ARG_DEPS} ${ARG_PUBLIC_DEPS})
  endif()
  add_library(evbus::${ARG_NAME} ALIAS ${target})
endfunction()

#   evbus_cc_test(NAME common_test SRCS json_test.cc DEPS evbus::common [LABELS unit])
# builds one gtest binary and registers its cases with ctest.
function(evbus_cc_test)
  if(NOT EVBUS_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${EVBUS_WARNING_FLAGS})
  target_include_directories(${ARG_NAME} PRIVATE ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/proto)
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS "${ARG_LABELS}" ENVIRONMENT "EVBUS_SOURCE_DIR=${CMAKE_SOURCE_DIR};EVBUS_BINARY_DIR=${CMAKE_BINARY_DIR}"
    DISCOVERY_TIMEOUT 30)
endfunction()
