# SPDX-License-Identifier: MIT
# The summaries the READMEs quote are the one of the run they cite: the
# block between <!-- bench-summary:begin --> and <!-- bench-summary:end -->
# of each FILE is, line for line (trailing blanks aside), the summary that
# ends RUN (bench/results/default.txt).
#
# usage: cmake -DRUN=default.txt -DFILES=README.md;bench/README.md
#              -P summary_sync.cmake
cmake_minimum_required(VERSION 3.19)
file(READ "${RUN}" run) # whole: a line may hold a ';'
string(FIND "${run}" "\n== summary" at)
set(summary "")
if(at GREATER_EQUAL 0)
  math(EXPR at "${at} + 1")
  string(SUBSTRING "${run}" ${at} -1 summary)
  string(REGEX REPLACE "[ \t]+\n" "\n" summary "${summary}")
  string(REGEX REPLACE "\n\n+" "\n" summary "${summary}")
endif()
if(summary STREQUAL "")
  message(FATAL_ERROR "${RUN}: no summary")
endif()
foreach(f IN LISTS FILES)
  file(READ "${f}" text)
  set(begin "<!-- bench-summary:begin -->\n```\n")
  string(LENGTH "${begin}" skip)
  string(FIND "${text}" "${begin}" a)
  string(FIND "${text}" "```\n<!-- bench-summary:end -->" b)
  if(a LESS 0 OR b LESS a)
    message(FATAL_ERROR "${f}: no bench-summary block")
  endif()
  math(EXPR a "${a} + ${skip}")
  math(EXPR n "${b} - ${a}")
  string(SUBSTRING "${text}" ${a} ${n} block)
  string(REGEX REPLACE "[ \t]+\n" "\n" block "${block}")
  if(NOT block STREQUAL summary)
    message(FATAL_ERROR "${f}: its bench-summary block is not the summary "
                        "of ${RUN}:\n${block}\n--- the run's:\n${summary}")
  endif()
endforeach()
message(STATUS "the summary of ${RUN} is quoted as it is")
