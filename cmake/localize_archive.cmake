# libmsglog.a exports what libmsglog.so exports, the msglog_* functions, and
# nothing else. In a plain archive every function one folder calls in another
# (store_open, vv_merge, codec_op_decode...) is a global symbol, and clashes
# with a program's own function of that name: hidden visibility is applied by
# the linker of a shared library, and an archive has none. So, once the
# archive is built, its objects are linked into one relocatable object
# (ld -r), which resolves the calls between them, and every hidden symbol of
# that object (all but MSGLOG_API) is made local (objcopy --localize-hidden);
# the archive is then made again of that one object. The price: a program
# linking it takes the whole library, not only the objects it calls.
# tests/symbols/check_symbols.py checks the result.
#
# Included, this file defines msglog_localize_archive(target); the same file
# run with cmake -P is the step itself.

if(NOT CMAKE_SCRIPT_MODE_FILE)
  function(msglog_localize_archive target)
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -DARCHIVE=$<TARGET_FILE:${target}>
        -DWORK=${CMAKE_CURRENT_BINARY_DIR}/localized -DLD=${CMAKE_LINKER}
        -DOBJCOPY=${CMAKE_OBJCOPY} -DAR=${CMAKE_AR} -DRANLIB=${CMAKE_RANLIB}
        -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE}
      VERBATIM)
  endfunction()
  return()
endif()

# A failed step removes the archive: left as it was, it would look built to
# the next build, with its symbols still global.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    file(REMOVE ${ARCHIVE})
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "${command}: ${rc}; ${ARCHIVE} removed")
  endif()
endfunction()

file(MAKE_DIRECTORY ${WORK})
set(merged ${WORK}/msglog.o)
run(${LD} -r --whole-archive ${ARCHIVE} -o ${merged})
run(${OBJCOPY} --localize-hidden ${merged})
file(REMOVE ${ARCHIVE})
run(${AR} qc ${ARCHIVE} ${merged})
run(${RANLIB} ${ARCHIVE})
file(REMOVE ${merged})
