# SPDX-License-Identifier: MIT
# Tests that are not Check suites.

# Install into a temporary prefix and build a consumer with find_package and
# with pkg-config. Sanitizer builds skip it (the consumer is not sanitized).
if(NOT HUPMON_SANITIZED)
  add_test(NAME install_consumer
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install_consumer.sh
            ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER})
  set_tests_properties(install_consumer PROPERTIES RESOURCE_LOCK hupmon_install)
endif()
# The install components (runtime, development, tools): tools installs
# exactly the two programs, which run alone; every file is in one component.
# The lock: cmake --install writes its manifest into the build tree.
if(HUPMON_BUILD_BENCH AND EXISTS ${PROJECT_SOURCE_DIR}/bench/CMakeLists.txt)
  set(install_tools hupmon-bench hupmon-serve)
else()
  set(install_tools "")
endif()
add_test(NAME install_components
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install_components.sh
          ${PROJECT_BINARY_DIR} ${install_tools})
set_tests_properties(install_components PROPERTIES RESOURCE_LOCK hupmon_install)
# The Debian packages (src/deb_packages.cmake): three, each with its files
# and dependencies, unpacked into a temporary root that serves the consumer
# and runs the tools. Prints why and skips (77) in sanitizer builds and
# without cpack, dpkg-deb, dpkg-shlibdeps or file. Serial: cpack runs the
# build's preinstall step and writes install manifests into the build tree.
add_test(NAME deb_packages
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/deb_packages.sh
          ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER}
          ${CMAKE_CPACK_COMMAND} ${PROJECT_VERSION} ${PROJECT_VERSION_MAJOR}
          ${CMAKE_INSTALL_LIBDIR} ${HUPMON_SANITIZED} ${BUILD_SHARED_LIBS}
          ${install_tools})
set_tests_properties(deb_packages PROPERTIES RUN_SERIAL ON
  SKIP_RETURN_CODE 77 TIMEOUT 300)

# The two-namespace lab (bench/lab/netns.h), which hupmon-bench's silent and
# stall scenarios use too: the suites link bench/'s library hupmon-lab.
target_link_libraries(check_silent_death PRIVATE hupmon-lab)
target_link_libraries(check_stall_netns PRIVATE hupmon-lab)

# check_serve, check_serve_curl, check_serve_limits: hupmon-serve's library
# (hupmon-serve-core, bench/serve/) with their fixture; check_serve_curl
# also runs the program.
foreach(suite check_serve check_serve_curl check_serve_limits)
  if(TARGET ${suite})
    target_sources(${suite} PRIVATE serve_fixture.c)
    target_link_libraries(${suite} PRIVATE hupmon-serve-core)
  endif()
endforeach()
if(TARGET check_serve_curl AND HUPMON_BUILD_BENCH)
  target_compile_definitions(check_serve_curl PRIVATE
    HUPMON_SERVE_BIN="$<TARGET_FILE:hupmon-serve>")
endif()

# Every hand-written file carries the SPDX line (tests/spdx.cmake), and the
# check itself catches a file without it.
file(RELATIVE_PATH spdx_build_dir ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
add_test(NAME spdx_lines
  COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR} -DSKIP=${spdx_build_dir}
          -P ${CMAKE_CURRENT_SOURCE_DIR}/spdx.cmake)
add_test(NAME spdx_lines_self_test
  COMMAND ${CMAKE_COMMAND} -DSELF_TEST=ON
          -DWORK=${CMAKE_CURRENT_BINARY_DIR}/spdx_self_test
          -P ${CMAKE_CURRENT_SOURCE_DIR}/spdx.cmake)

# The API fuzzer (tests/fuzz_api.c): random legal calls from three threads
# and the callbacks, a hang watchdog and invariants, one fixed seed per
# monitor configuration, 1.7 s each (the whole set under 20 s).
add_executable(fuzz_api fuzz_api.c)
target_compile_definitions(fuzz_api PRIVATE _GNU_SOURCE)
target_compile_options(fuzz_api PRIVATE ${HUPMON_WARNINGS})
target_link_libraries(fuzz_api PRIVATE hupmon_internal Threads::Threads)
set(fuzz_seed 1)
foreach(config epoll sweep-tcpinfo sweep-peek both compare stall
               compare-stall-budget promise-peek)
  add_test(NAME fuzz_api_${config}
    COMMAND fuzz_api --seed ${fuzz_seed} --threads 3 --config ${config}
            --seconds 1.7)
  set_tests_properties(fuzz_api_${config} PROPERTIES LABELS fuzz TIMEOUT 120)
  math(EXPR fuzz_seed "${fuzz_seed} + 1")
endforeach()

# The module graph (tests/module_graph.sh, from the built objects): src/,
# hupmon-bench and hupmon-serve have no cycle, README.md's Layout graph is
# src/'s; the script catches a cycle put in on purpose
# (tests/module_graph_cycle/).
add_test(NAME module_graph_src
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/module_graph.sh
          --readme ${PROJECT_SOURCE_DIR}/README.md ${CMAKE_NM}
          ${PROJECT_SOURCE_DIR}/src "$<TARGET_OBJECTS:hupmon_objs>"
  COMMAND_EXPAND_LISTS)
if(HUPMON_BUILD_BENCH AND EXISTS ${PROJECT_SOURCE_DIR}/bench/CMakeLists.txt)
  add_test(NAME module_graph_bench
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/module_graph.sh ${CMAKE_NM}
            ${PROJECT_SOURCE_DIR}/bench "$<TARGET_OBJECTS:hupmon-bench>"
    COMMAND_EXPAND_LISTS)
  add_test(NAME module_graph_serve
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/module_graph.sh ${CMAKE_NM}
            ${PROJECT_SOURCE_DIR}/bench/serve
            "$<TARGET_OBJECTS:hupmon-serve-core>"
            "$<TARGET_OBJECTS:hupmon-serve>"
    COMMAND_EXPAND_LISTS)
endif()
add_library(module_graph_cycle OBJECT module_graph_cycle/ping.c
  module_graph_cycle/pong.c)
add_test(NAME module_graph_catches_a_cycle
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/module_graph.sh ${CMAKE_NM}
          ${CMAKE_CURRENT_SOURCE_DIR}/module_graph_cycle
          "$<TARGET_OBJECTS:module_graph_cycle>"
  COMMAND_EXPAND_LISTS)
set_tests_properties(module_graph_catches_a_cycle PROPERTIES
  PASS_REGULAR_EXPRESSION "calls both ways: ping <-> pong")

# The server pattern (tests/example_server.c), a program built against the
# public library alone, as a user's: check_example_server runs it against
# loopback clients, readme_server_excerpt holds its heart, the README's
# excerpt, to its source (tests/readme_excerpt.cmake).
add_executable(example_server example_server.c)
target_compile_options(example_server PRIVATE ${HUPMON_WARNINGS})
target_link_libraries(example_server PRIVATE hupmon)
target_compile_definitions(check_example_server PRIVATE
  EXAMPLE_SERVER_BIN="$<TARGET_FILE:example_server>")
add_dependencies(check_example_server example_server)
add_test(NAME readme_server_excerpt
  COMMAND ${CMAKE_COMMAND} -DREADME=${PROJECT_SOURCE_DIR}/README.md
          -DEXAMPLE=${CMAKE_CURRENT_SOURCE_DIR}/example_server.c
          -P ${CMAKE_CURRENT_SOURCE_DIR}/readme_excerpt.cmake)

# The README's shape: at most 500 lines; it, bench/README.md and the
# changelog within 100 characters a line (tests/readme_shape.sh).
add_test(NAME readme_shape
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/readme_shape.sh 500
          ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/bench/README.md
          ${PROJECT_SOURCE_DIR}/CHANGELOG.md)
