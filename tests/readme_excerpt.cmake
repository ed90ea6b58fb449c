# SPDX-License-Identifier: MIT
# Fails unless README.md shows, between its server-excerpt markers, exactly
# the lines of EXAMPLE (tests/example_server.c) between the lines
# "/* readme:begin */" and "/* readme:end */" (those two lines left out).
# usage: cmake -DREADME=<README.md> -DEXAMPLE=<example_server.c> -P readme_excerpt.cmake
set(src_begin "\n/* readme:begin */\n")
set(src_end "\n/* readme:end */\n")
set(doc_begin "<!-- server-excerpt:begin -->\n```c\n")
set(doc_end "```\n<!-- server-excerpt:end -->")

# The text of string s between the first begin and the end after it; fails
# unless each marker is there exactly once.
function(between s begin end what out)
  string(FIND "${s}" "${begin}" b)
  string(FIND "${s}" "${begin}" b_last REVERSE)
  string(FIND "${s}" "${end}" e)
  string(FIND "${s}" "${end}" e_last REVERSE)
  if(b EQUAL -1 OR e EQUAL -1 OR NOT b EQUAL b_last OR NOT e EQUAL e_last
     OR e LESS b)
    message(FATAL_ERROR "${what}: the excerpt markers are missing, repeated "
      "or out of order")
  endif()
  string(LENGTH "${begin}" bl)
  math(EXPR start "${b} + ${bl}")
  math(EXPR len "${e} - ${start}")
  string(SUBSTRING "${s}" ${start} ${len} block)
  set(${out} "${block}" PARENT_SCOPE)
endfunction()

file(READ ${EXAMPLE} example)
file(READ ${README} readme)
between("${example}" "${src_begin}" "${src_end}" ${EXAMPLE} excerpt)
string(APPEND excerpt "\n") # the end marker's search ate the last newline
between("${readme}" "${doc_begin}" "${doc_end}" ${README} shown)
if(NOT shown STREQUAL excerpt)
  message(FATAL_ERROR "README.md's server excerpt differs from ${EXAMPLE}; "
    "it should read, between the markers:\n${excerpt}")
endif()
message(STATUS "README server excerpt matches ${EXAMPLE}")
