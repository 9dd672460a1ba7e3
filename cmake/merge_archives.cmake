# cmake -P helper: runs GNU ar's MRI script MRI (which names OUT) to merge archives.
# Usage: cmake -DAR=<ar> -DMRI=<script> -DOUT=<archive> -P merge_archives.cmake
file(REMOVE "${OUT}")
execute_process(COMMAND "${AR}" -M INPUT_FILE "${MRI}" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT EXISTS "${OUT}")
  message(FATAL_ERROR "merging kernel archives into ${OUT} failed (${rc}): ${err}")
endif()
