# Assembles an LLVM IR file for one data layout and writes its bitcode as a C array
# initializer (the bytes, comma-separated), for a generator to hand Halide as external
# code (Halide warns when linking modules of different layouts).
#   cmake -DLLVM_AS=<llvm-as> -DIN=<file.ll> -DLAYOUT=<data layout> -DOUT=<file.inc>
#         -P embed_bitcode.cmake
cmake_minimum_required(VERSION 3.25)  # script mode: the project's policies
file(READ "${IN}" ir)
# LLVM IR has no functions generic in a vector width: a block between a line
# "; @for_each_width W..." and a line "; @end_for_each_width" is written once per W,
# with @W@ replaced by it.
while(TRUE)
  string(FIND "${ir}" "; @for_each_width " begin)
  if(begin EQUAL -1)
    break()
  endif()
  string(SUBSTRING "${ir}" 0 ${begin} head)
  string(SUBSTRING "${ir}" ${begin} -1 rest)
  string(FIND "${rest}" "\n" eol)
  string(SUBSTRING "${rest}" 0 ${eol} widths)
  string(REPLACE "; @for_each_width " "" widths "${widths}")
  separate_arguments(widths)
  string(FIND "${rest}" "; @end_for_each_width" end)
  if(end EQUAL -1)
    message(FATAL_ERROR "${IN}: @for_each_width without @end_for_each_width")
  endif()
  math(EXPR body_len "${end} - ${eol} - 1")
  math(EXPR body_begin "${eol} + 1")
  string(SUBSTRING "${rest}" ${body_begin} ${body_len} body)
  string(SUBSTRING "${rest}" ${end} -1 tail)
  string(FIND "${tail}" "\n" eol)
  string(SUBSTRING "${tail}" ${eol} -1 tail)
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
