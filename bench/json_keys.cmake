# SPDX-License-Identifier: MIT
# Checks a hupmon-bench --json document: it parses, the summary is its first
# member, every scenario of SCENARIOS (comma-separated) is under
# "scenarios" with its verdicts (check_run.sh has already required exit 0).
#
# usage: cmake -DDOC=run.json -DSCENARIOS=fin,rst -P json_keys.cmake
cmake_minimum_required(VERSION 3.19) # string(JSON)
file(READ "${DOC}" doc)
string(JSON type ERROR_VARIABLE err TYPE "${doc}")
if(err OR NOT type STREQUAL "OBJECT")
  message(FATAL_ERROR "${DOC}: not a JSON object: ${err}")
endif()
# the parser sorts members by name: the order is the text's, whose first
# quote opens the first member's name
string(FIND "${doc}" "\"" q)
math(EXPR q "${q} + 1")
string(SUBSTRING "${doc}" ${q} 8 first)
if(NOT first STREQUAL "summary\"")
  message(FATAL_ERROR "${DOC}: the first member is '${first}', not summary")
endif()
foreach(key verdict paths compare)
  string(JSON v ERROR_VARIABLE err GET "${doc}" summary ${key})
  if(err)
    message(FATAL_ERROR "${DOC}: summary has no '${key}': ${err}")
  endif()
endforeach()
string(REPLACE "," ";" scenarios "${SCENARIOS}")
foreach(s IN LISTS scenarios)
  string(JSON v ERROR_VARIABLE err GET "${doc}" scenarios ${s} verdicts)
  if(err)
    message(FATAL_ERROR "${DOC}: no scenarios.${s}.verdicts: ${err}")
  endif()
endforeach()
string(JSON n LENGTH "${doc}" scenarios)
list(LENGTH scenarios want)
if(NOT n EQUAL want)
  message(FATAL_ERROR "${DOC}: ${n} scenarios, ${want} expected")
endif()
message(STATUS "${DOC}: summary first, ${n} scenario(s) with verdicts")
