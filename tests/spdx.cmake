# SPDX-License-Identifier: MIT
# Fails unless every hand-written file of the source tree that can hold a
# comment opens with "SPDX-License-Identifier: MIT" as its first comment line
# (after a "#!" line, where there is one). Walks the tree itself, so it works
# on a source tarball without git.
# usage: cmake -DROOT=<source dir> [-DSKIP=<dir under ROOT>] -P spdx.cmake
#        cmake -DSELF_TEST=ON -DWORK=<scratch dir> -P spdx.cmake

# Must carry the line: sources, build files, templates (the line passes into
# what they generate), scripts, the linker map, CI and small config files.
set(must_carry
  "\\.[ch]$" "(^|/)CMakeLists\\.txt$" "\\.cmake$" "\\.in$" "\\.sh$" "\\.map$"
  "^\\.ci/" "^\\.clang-format$" "^\\.gitignore$")
# Exempt: JSON cannot hold a comment; expected outputs are compared byte for
# byte; bench/results holds generated runs; prose documents and the license
# itself (the README states the license in words).
set(exempt
  "\\.json$" "^tests/expected/" "^bench/results/" "\\.md$" "^LICENSE$")
set(line_re "^(/\\* |// |# )SPDX-License-Identifier: MIT( \\*/)?$")

function(spdx_check root skip out_bad out_unclassified out_count)
  file(GLOB_RECURSE files RELATIVE ${root} LIST_DIRECTORIES false ${root}/*)
  set(bad "")
  set(unclassified "")
  set(count 0)
  foreach(f IN LISTS files)
    if(f MATCHES "^(\\.git|build|out)(/|$)")
      continue()
    endif()
    if(skip AND f MATCHES "^${skip}/")
      continue()
    endif()
    set(kind "")
    foreach(re IN LISTS exempt)
      if(f MATCHES "${re}")
        set(kind "free")
        break()
      endif()
    endforeach()
    if(NOT kind)
      foreach(re IN LISTS must_carry)
        if(f MATCHES "${re}")
          set(kind "must")
          break()
        endif()
      endforeach()
    endif()
    if(NOT kind)
      list(APPEND unclassified ${f})
      continue()
    endif()
    if(kind STREQUAL "free")
      continue()
    endif()
    math(EXPR count "${count} + 1")
    file(READ ${root}/${f} head LIMIT 512)
    string(REGEX MATCHALL "[^\n]*\n" lines "${head}")
    list(LENGTH lines n)
    set(first "")
    if(n GREATER 0)
      list(GET lines 0 first)
      if(first MATCHES "^#!" AND n GREATER 1)
        list(GET lines 1 first)
      endif()
    endif()
    string(STRIP "${first}" first)
    if(NOT first MATCHES "${line_re}")
      list(APPEND bad ${f})
    endif()
  endforeach()
  set(${out_bad} "${bad}" PARENT_SCOPE)
  set(${out_unclassified} "${unclassified}" PARENT_SCOPE)
  set(${out_count} ${count} PARENT_SCOPE)
endfunction()

if(SELF_TEST)
  # The check must catch a missing line: a scratch tree with one good file,
  # one file whose SPDX line follows a "#!" line and one without the line.
  file(REMOVE_RECURSE ${WORK})
  file(WRITE ${WORK}/src/good.c "/* SPDX-License-Identifier: MIT */\nint x;\n")
  file(WRITE ${WORK}/run.sh "#!/bin/sh\n# SPDX-License-Identifier: MIT\ntrue\n")
  file(WRITE ${WORK}/src/bad.c "/* no license line */\nint y;\n")
  spdx_check(${WORK} "" bad unclassified count)
  file(REMOVE_RECURSE ${WORK})
  if(NOT bad STREQUAL "src/bad.c" OR NOT count EQUAL 3)
    message(FATAL_ERROR "self-test: expected only src/bad.c flagged of 3, got '${bad}' of ${count}")
  endif()
  message(STATUS "self-test: a file without the line is caught")
  return()
endif()

spdx_check(${ROOT} "${SKIP}" bad unclassified count)
if(unclassified)
  list(JOIN unclassified "\n  " u)
  message(FATAL_ERROR "files neither required to carry the SPDX line nor exempt "
    "(add their kind to a list in tests/spdx.cmake):\n  ${u}")
endif()
if(bad)
  list(JOIN bad "\n  " b)
  message(FATAL_ERROR "files without 'SPDX-License-Identifier: MIT' as their first comment line:\n  ${b}")
endif()
message(STATUS "${count} files carry the SPDX line")
