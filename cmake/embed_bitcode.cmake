# Assembles an LLVM IR file for one data layout and writes its bitcode as a C array
# initializer (the bytes, comma-separated), for a generator to hand Halide as external
# code (Halide warns when linking modules of different layouts).
#   cmake -DLLVM_AS=<llvm-as> -DIN=<file.ll> -DARCH=<x86_64|arm_64> -DLAYOUT=<data layout>
#         -DOUT=<file.inc> -P embed_bitcode.cmake
cmake_minimum_required(VERSION 3.25)  # script mode: the project's policies
file(READ "${IN}" ir)
# Splits the text in variable `text_var` at its first block: a line "; @<name> ARGS",
# lines, a line "; @end_<name>". Sets `found` (TRUE/FALSE) and, when found, `head` (the
# text before the block), `args`, `body` (the lines inside) and `tail` (after it).
function(next_block text_var name found head args body tail)
  set(text "${${text_var}}")
  string(FIND "${text}" "; @${name} " begin)
  if(begin EQUAL -1)
    set(${found} FALSE PARENT_SCOPE)
    return()
  endif()
  string(SUBSTRING "${text}" 0 ${begin} before)
  string(SUBSTRING "${text}" ${begin} -1 rest)
  string(FIND "${rest}" "\n" eol)
  string(SUBSTRING "${rest}" 0 ${eol} first_line)
  string(REPLACE "; @${name} " "" first_line "${first_line}")
  string(FIND "${rest}" "; @end_${name}" end)
  if(end EQUAL -1)
    message(FATAL_ERROR "${IN}: @${name} without @end_${name}")
  endif()
  math(EXPR inside_begin "${eol} + 1")
  math(EXPR inside_len "${end} - ${inside_begin}")
  string(SUBSTRING "${rest}" ${inside_begin} ${inside_len} inside)
  string(SUBSTRING "${rest}" ${end} -1 after)
  string(FIND "${after}" "\n" eol)
  string(SUBSTRING "${after}" ${eol} -1 after)
  set(${found} TRUE PARENT_SCOPE)
  set(${head} "${before}" PARENT_SCOPE)
  set(${args} "${first_line}" PARENT_SCOPE)
  set(${body} "${inside}" PARENT_SCOPE)
  set(${tail} "${after}" PARENT_SCOPE)
endfunction()

# Lines between "; @arch A" and "; @end_arch" are kept for architecture A only.
while(TRUE)
  next_block(ir arch found head arch body tail)
  if(NOT found)
    break()
  endif()
  if(NOT arch STREQUAL ARCH)
    set(body "")
  endif()
  set(ir "${head}${body}${tail}")
endwhile()
# LLVM IR has no functions generic in a vector width: a block between a line
# "; @for_each_width W..." and a line "; @end_for_each_width" is written once per W,
# with @W@ replaced by it.
while(TRUE)
  next_block(ir for_each_width found head widths body tail)
  if(NOT found)
    break()
  endif()
  separate_arguments(widths)
  set(blocks "")
  foreach(w IN LISTS widths)
    string(REPLACE "@W@" "${w}" block "${body}")
    string(APPEND blocks "${block}")
  endforeach()
  set(ir "${head}${blocks}${tail}")
endwhile()
file(WRITE "${OUT}.ll" "target datalayout = \"${LAYOUT}\"\n${ir}")
execute_process(COMMAND "${LLVM_AS}" "${OUT}.ll" -o "${OUT}.bc" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${LLVM_AS} failed on ${IN}")
endif()
file(READ "${OUT}.bc" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "${bytes}\n")
