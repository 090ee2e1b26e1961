# raftwc_add_test(NAME <name> SOURCES <files...> [LIBS <targets...>] [NETNS] [TIMEOUT <s>] [LABELS <l...>]
#                 [ENV <VAR=value...>] [ARGS <args...>])
#
# Builds a QtTest executable and registers it with CTest. NETNS runs it inside a fresh private network
# namespace (loopback only, multicast routed to lo) created by tests/tools/in-netns.sh, so nothing the
# test sends can leave the machine. Every test runs with QT_QPA_PLATFORM=offscreen.
function(raftwc_add_test)
  cmake_parse_arguments(T "NETNS" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;ENV;ARGS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE raftwc_settings Qt6::Test ${T_LIBS})
  if(T_NETNS)
    add_test(NAME ${T_NAME}
             COMMAND ${PROJECT_SOURCE_DIR}/tests/tools/in-netns.sh $<TARGET_FILE:${T_NAME}> ${T_ARGS})
    list(APPEND T_LABELS netns)
  else()
    add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS})
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT}
                       ENVIRONMENT "QT_QPA_PLATFORM=offscreen;${T_ENV}")
  if(T_LABELS)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
