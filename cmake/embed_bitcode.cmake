# Assembles an LLVM IR file for one data layout and writes its bitcode as a C array
# initializer (the bytes, comma-separated), for a generator to hand Halide as external
# code (Halide warns when linking modules of different layouts).
#   cmake -DLLVM_AS=<llvm-as> -DIN=<file.ll> -DLAYOUT=<data layout> -DOUT=<file.inc>
#         -P embed_bitcode.cmake
file(READ "${IN}" ir)
file(WRITE "${OUT}.ll" "target datalayout = \"${LAYOUT}\"\n${ir}")
execute_process(COMMAND "${LLVM_AS}" "${OUT}.ll" -o "${OUT}.bc" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${LLVM_AS} failed on ${IN}")
endif()
file(READ "${OUT}.bc" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE "${OUT}" "${bytes}\n")
