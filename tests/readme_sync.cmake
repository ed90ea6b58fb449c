# SPDX-License-Identifier: MIT
# Fails unless the C block between the example markers in README.md is
# byte-for-byte tests/example_embed.c, the file's SPDX line aside.
file(READ ${README} readme)
file(READ ${EXAMPLE} example)
string(REGEX REPLACE "^/\\* SPDX-License-Identifier: [^\n]*\\*/\n" "" example "${example}")
string(FIND "${readme}" "<!-- example:begin -->\n```c\n" b)
string(FIND "${readme}" "```\n<!-- example:end -->" e)
if(b EQUAL -1 OR e EQUAL -1)
  message(FATAL_ERROR "README.md has no example markers")
endif()
string(LENGTH "<!-- example:begin -->\n```c\n" hl)
math(EXPR start "${b} + ${hl}")
math(EXPR len "${e} - ${start}")
string(SUBSTRING "${readme}" ${start} ${len} block)
if(NOT block STREQUAL example)
  message(FATAL_ERROR "README.md example differs from ${EXAMPLE}")
endif()
message(STATUS "README example matches ${EXAMPLE}")
