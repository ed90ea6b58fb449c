# SPDX-License-Identifier: MIT
# Tests that are not Check suites.

# Install into a temporary prefix and build a consumer with find_package and
# with pkg-config. Sanitizer builds skip it (the consumer is not sanitized).
if(NOT HUPMON_SANITIZED)
  add_test(NAME install_consumer
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install_consumer.sh
            ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER})
endif()

# The README's embedding example and tests/example_embed.c are one text.
add_test(NAME readme_example_in_sync
  COMMAND ${CMAKE_COMMAND} -DREADME=${PROJECT_SOURCE_DIR}/README.md
          -DEXAMPLE=${CMAKE_CURRENT_SOURCE_DIR}/example_embed.c
          -P ${CMAKE_CURRENT_SOURCE_DIR}/readme_sync.cmake)

# The two-namespace lab of the silent-death test; hupmon-bench's silent
# scenario compiles the same source (bench/CMakeLists.txt).
target_sources(check_silent_death PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/netns.c)
target_sources(check_stall_netns PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/netns.c)

# check_serve, check_serve_curl, check_serve_limits: hupmon-serve
# (bench/serve*.c) built into the suites with their fixture; check_serve_curl
# also runs the program.
foreach(suite check_serve check_serve_curl check_serve_limits)
  if(TARGET ${suite})
    target_sources(${suite} PRIVATE serve_fixture.c
      ${PROJECT_SOURCE_DIR}/bench/clock.c
      ${PROJECT_SOURCE_DIR}/bench/serve.c
      ${PROJECT_SOURCE_DIR}/bench/serve_http.c
      ${PROJECT_SOURCE_DIR}/bench/serve_metrics.c
      ${PROJECT_SOURCE_DIR}/bench/serve_load.c)
    target_include_directories(${suite} PRIVATE ${PROJECT_SOURCE_DIR}/bench)
  endif()
endforeach()
if(TARGET check_serve_curl AND HUPMON_BUILD_BENCH)
  target_compile_definitions(check_serve_curl PRIVATE
    HUPMON_SERVE_BIN="$<TARGET_FILE:hupmon-serve>")
endif()

# The README's excerpt of bench/serve.c is made of lines of bench/serve.c.
add_test(NAME readme_serve_excerpt
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/serve_excerpt.sh
          ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/bench/serve.c)


# hupmon-bench's soak, shortened (bench/soak.c): 5 s of churn in compare
# mode; passes iff nothing is lost, false, duplicate or wrong, every counter
# identity holds and memory_bytes stops growing after the first cycle.
# Fewer connections under the sanitizers (HUPMON_TEST_SCALE=small).
if(HUPMON_BUILD_BENCH AND EXISTS ${PROJECT_SOURCE_DIR}/bench/CMakeLists.txt)
  add_test(NAME bench_soak
    COMMAND sh -c "n=500; [ \"$HUPMON_TEST_SCALE\" = small ] && n=200; exec \"$0\" --scenarios soak --soak-s 5 --n $n"
            $<TARGET_FILE:hupmon-bench>)
  set_tests_properties(bench_soak PROPERTIES LABELS bench TIMEOUT 60)
  # hupmon-bench's churn, small (bench/churn.c): passes iff every watch,
  # unwatch and epoll_ctl succeeds and the monitor's counters add up, one
  # and two watching threads; its timings are not judged here.
  add_test(NAME bench_churn
    COMMAND $<TARGET_FILE:hupmon-bench> --scenarios churn --n 200 --rounds 1)
  set_tests_properties(bench_churn PROPERTIES LABELS bench TIMEOUT 60)
endif()

# hupmon-bench's budget and shards, small (--quick: 2 000 sockets, two
# rounds of 50 closures): the dispatch thread's CPU within 0.17-0.23 of a
# core under a 0.2 budget, and compare mode missing none of the hangups the
# sweep can see (bench/budget.c); the epoll p99 ratio is only judged from
# 1 000 closures on.
if(HUPMON_BUILD_BENCH AND EXISTS ${PROJECT_SOURCE_DIR}/bench/CMakeLists.txt)
  add_test(NAME bench_budget
    COMMAND hupmon-bench --scenarios budget,shards --quick)
  set_tests_properties(bench_budget PROPERTIES LABELS bench TIMEOUT 120)
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
