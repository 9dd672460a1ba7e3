# The kernel variant table: the one place that says which kernels exist.
#   pipelines = index type x format x op (+ two quantizers), each ONE multitarget Halide
#   library compiled for every entry of QEMBED_TARGETS (best first, the last is the
#   baseline), all sharing ONE Halide runtime built for the targets' common subset.
# It drives the add_halide_library calls, merges them into libqembed_kernels.a, and
# writes qembed_kernel_table.inc, from which the runtime builds its dispatch table.
# Formats come from generators/formats.h.

# The lookup ops; each format gets all of them but the prepacked family (below).
set(QEMBED_OPS embedding bag_sum bag_max)

# Formats: parsed from the X-macro in formats.h, so adding a format is one line there.
# The prepacked family (ScaleBias* layouts: PyTorch's numerics, bag sums only) gets the
# bag_sum op alone.
file(READ "${PROJECT_SOURCE_DIR}/generators/formats.h" _formats_h)
string(REGEX MATCHALL "\n  X\\([a-z0-9_]+, [A-Z0-9]+, [A-Za-z0-9]+\\)" _format_entries "${_formats_h}")
set(QEMBED_FORMATS "")
foreach(_entry IN LISTS _format_entries)
  string(REGEX REPLACE "^\n  X\\(([a-z0-9_]+), [A-Z0-9]+, ([A-Za-z0-9]+)\\)$" "\\1;\\2" _fields "${_entry}")
  list(GET _fields 0 _name)
  list(GET _fields 1 _layout)
  list(APPEND QEMBED_FORMATS "${_name}")
  if(_layout MATCHES "^ScaleBias")
    set(_ops_${_name} bag_sum)
  else()
    set(_ops_${_name} ${QEMBED_OPS})
  endif()
endforeach()
message(STATUS "qembed: formats ${QEMBED_FORMATS}")
message(STATUS "qembed: kernel targets ${QEMBED_TARGETS}")

# Addressing: every lookup kernel is compiled twice. "small" kernels use Halide's 32-bit
# offsets (tables up to 2 GiB); "large" ones add the large_buffers feature (64-bit
# addressing, tables over 2 GiB), which cost 6% on 8-bit D=128 cold bags (AVX-512), so
# the runtime takes them only for tables that need them. QEMBED_LARGE_BUFFERS=OFF builds
# the small ones only. Targets keep their names (dispatch, schedule files); the suffix is
# added where a target is compiled.
set(QEMBED_ADDRESSING small)
set(_suffix_small "")
if(QEMBED_LARGE_BUFFERS)
  list(APPEND QEMBED_ADDRESSING large)
  set(_suffix_large "-large_buffers")
endif()
set(QEMBED_COMPILE_TARGETS "")  # every target as compiled, for tools/check-kernel-isa.sh
foreach(_addr IN LISTS QEMBED_ADDRESSING)
  set(QEMBED_COMPILE_TARGETS_${_addr} "")
  foreach(_target IN LISTS QEMBED_TARGETS)
    list(APPEND QEMBED_COMPILE_TARGETS_${_addr} "${_target}${_suffix_${_addr}}")
  endforeach()
  list(APPEND QEMBED_COMPILE_TARGETS ${QEMBED_COMPILE_TARGETS_${_addr}})
endforeach()

# Schedules: the tuned knobs per (target, pipeline) (generators/schedule_file.h). Each
# target takes QEMBED_SCHEDULES' entries, else its checked-in schedules/<target>.txt.
# The chosen entries are merged into one file whose name carries its hash, so editing a
# schedule rebuilds exactly the kernels' command lines that read it.
set(_sched_text "")
set(_sched_sources ${QEMBED_SCHEDULES})
foreach(_target IN LISTS QEMBED_TARGETS)
  if(EXISTS "${PROJECT_SOURCE_DIR}/schedules/${_target}.txt")
    list(APPEND _sched_sources "${PROJECT_SOURCE_DIR}/schedules/${_target}.txt")
  endif()
endforeach()
set(_sched_lines "")
set(_sched_targets_done "")
foreach(_file IN LISTS _sched_sources)
  if(NOT EXISTS "${_file}")
    message(FATAL_ERROR "QEMBED_SCHEDULES: ${_file} does not exist")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_file}")
  file(STRINGS "${_file}" _lines REGEX "^[^#]*[^ #]")
  set(_file_targets "")
  foreach(_line IN LISTS _lines)
    string(REGEX REPLACE "#.*" "" _line "${_line}")
    if(NOT _line MATCHES "^([^ ]+) ([^ ]+)( [^ =]+=[^ =]+)* *$")
      message(FATAL_ERROR "${_file}: '${_line}' is not '<target> <pipeline> key=value...'")
    endif()
    # A target's entries come from the first file that has any (QEMBED_SCHEDULES first).
    if(CMAKE_MATCH_1 IN_LIST _sched_targets_done)
      continue()
    endif()
    list(APPEND _file_targets "${CMAKE_MATCH_1}")
    string(APPEND _sched_text "${_line}\n")
    list(APPEND _sched_lines "${_line}")
  endforeach()
  list(APPEND _sched_targets_done ${_file_targets})
endforeach()
string(MD5 _sched_hash "${_sched_text}")
string(SUBSTRING "${_sched_hash}" 0 12 _sched_hash)
set(QEMBED_SCHEDULE_FILE "${PROJECT_BINARY_DIR}/generated/qembed_schedules-${_sched_hash}.txt")
file(CONFIGURE OUTPUT "${QEMBED_SCHEDULE_FILE}" CONTENT "${_sched_text}")

# The runtime knob `knob` of (target, pipeline) from the merged schedules, else `default`.
function(_qembed_schedule_knob out target pipeline knob default)
  set(_value "${default}")
  foreach(_line IN LISTS _sched_lines)
    if(_line MATCHES "^${target} ${pipeline} " AND _line MATCHES " ${knob}=([0-9]+)")
      set(_value "${CMAKE_MATCH_1}")
    endif()
  endforeach()
  set(${out} "${_value}" PARENT_SCOPE)
endfunction()

set(QEMBED_INDEX_TYPES int32 int64)
# op -> generator and its params
set(_gen_embedding qembed_embedding)
set(_params_embedding "")
set(_gen_bag_sum qembed_embedding_bag)
set(_params_bag_sum mode=sum)
set(_gen_bag_max qembed_embedding_bag)
set(_params_bag_max mode=max)

list(LENGTH QEMBED_TARGETS _target_count)
if(_target_count EQUAL 0)
  message(FATAL_ERROR "QEMBED_TARGETS is empty")
endif()

set(QEMBED_KERNEL_LIBS "")
set(QEMBED_KERNEL_HEADERS "")
set(QEMBED_HALIDE_RUNTIME "")
set(_targets_inc "// Generated by cmake/kernels.cmake from QEMBED_TARGETS; do not edit.\n")
set(_kernels_inc "// Generated by cmake/kernels.cmake; do not edit.\n")
set(_headers_inc "// Generated by cmake/kernels.cmake; do not edit.\n")

# One multitarget library per pipeline. Its header declares the self-dispatching wrapper
# `qembed_k_<name>` (for apps that link the kernels directly); qembed's own dispatch table
# calls each target's entry point by its symbol, so it can report and force the target
# (the wrapper latches its first choice in a static and can do neither).
macro(_qembed_kernel kname addr gen)
  set(_lib "qembed_k_${kname}")
  set(_rt "")
  if(NOT QEMBED_HALIDE_RUNTIME STREQUAL "")
    set(_rt USE_RUNTIME ${QEMBED_HALIDE_RUNTIME})
  endif()
  add_halide_library(${_lib} FROM qembed::halide_generators::qembed_generators GENERATOR ${gen}
                     TARGETS ${QEMBED_COMPILE_TARGETS_${addr}} PARAMS ${ARGN} ${_rt})
  if(TARGET qembed_host_generators)  # a cross build's own host generators
    add_dependencies(${_lib}.update qembed_host_generators)
  endif()
  if(QEMBED_HALIDE_RUNTIME STREQUAL "")
    set(QEMBED_HALIDE_RUNTIME "${_lib}.runtime")
  endif()
  list(APPEND QEMBED_KERNEL_LIBS ${_lib})
  list(APPEND QEMBED_KERNEL_HEADERS "${CMAKE_CURRENT_BINARY_DIR}/${_lib}.h")
  string(APPEND _headers_inc "#include \"${_lib}.h\"\n")
endmacro()

# The symbol of pipeline `kname` compiled for `target` with addressing `addr` (Halide
# names each sub-target's entry `<function>-<compiled target>-no_runtime`; a
# single-target library has only `<function>`).
# The table gives it as a C string; runtime/dispatch.cpp turns it into an asm label.
function(_qembed_entry_symbol out kname target addr)
  if(_target_count EQUAL 1)
    set(${out} "qembed_k_${kname}" PARENT_SCOPE)
  else()
    set(${out} "qembed_k_${kname}-${target}${_suffix_${addr}}-no_runtime" PARENT_SCOPE)
  endif()
endfunction()

foreach(_target IN LISTS QEMBED_TARGETS)
  string(MAKE_C_IDENTIFIER "${_target}" _tid)
  string(APPEND _targets_inc "QEMBED_TARGET(${_tid}, \"${_target}\")\n")
endforeach()

foreach(_addr IN LISTS QEMBED_ADDRESSING)
  foreach(_itype IN LISTS QEMBED_INDEX_TYPES)
    foreach(_format IN LISTS QEMBED_FORMATS)
      foreach(_op IN LISTS _ops_${_format})
        set(_pipeline ${_op}_${_format}_${_itype})  # the schedule files' name for it
        set(_k ${_pipeline})
        if(_addr STREQUAL "large")
          set(_k ${_pipeline}_large)
        endif()
        _qembed_kernel(${_k} ${_addr} ${_gen_${_op}} format=${_format} index_type=${_itype}
                       ${_params_${_op}} schedules=${QEMBED_SCHEDULE_FILE}
                       ${QEMBED_SCHEDULE_PARAMS})
        foreach(_target IN LISTS QEMBED_TARGETS)
          string(MAKE_C_IDENTIFIER "${_target}" _tid)
          _qembed_entry_symbol(_sym ${_k} ${_target} ${_addr})
          _qembed_schedule_knob(_dist ${_target} ${_pipeline} prefetch_distance 64)
          if(_dist GREATER 65536)  # runtime/validate.h: kMaxBagEntries leaves room for 2^16
            message(FATAL_ERROR "${QEMBED_SCHEDULE_FILE}: ${_target} ${_pipeline} "
                                "prefetch_distance=${_dist} is over 65536")
          endif()
          string(APPEND _kernels_inc "QEMBED_KERNEL(${_tid}, ${_addr}, ${_op}, ${_format}, "
                                     "${_itype}, \"${_sym}\", ${_dist})\n")
        endforeach()
      endforeach()
    endforeach()
  endforeach()
endforeach()
foreach(_zp int_zp float_zp)
  if(_zp STREQUAL "float_zp")
    set(_fzp true)
  else()
    set(_fzp false)
  endif()
  _qembed_kernel(quantize_${_zp} small qembed_quantize float_zero_point=${_fzp})
  foreach(_target IN LISTS QEMBED_TARGETS)
    string(MAKE_C_IDENTIFIER "${_target}" _tid)
    _qembed_entry_symbol(_sym quantize_${_zp} ${_target} small)
    string(APPEND _kernels_inc "QEMBED_QUANTIZE(${_tid}, ${_zp}, \"${_sym}\")\n")
  endforeach()
endforeach()

set(QEMBED_GENERATED_DIR "${PROJECT_BINARY_DIR}/generated")
file(MAKE_DIRECTORY "${QEMBED_GENERATED_DIR}")
file(CONFIGURE OUTPUT "${QEMBED_GENERATED_DIR}/qembed_kernel_targets.inc"
     CONTENT "${_targets_inc}")
file(CONFIGURE OUTPUT "${QEMBED_GENERATED_DIR}/qembed_kernel_table.inc" CONTENT "${_kernels_inc}")
file(CONFIGURE OUTPUT "${QEMBED_GENERATED_DIR}/qembed_kernel_headers.inc"
     CONTENT "${_headers_inc}")

# libqembed_kernels.a: every kernel of every target plus the shared Halide runtime, in one
# archive (GNU ar's MRI script), so apps link one file whether or not they use CMake.
# Works alike for native builds (CMake-built archives) and cross builds (imported ones).
set(_mri "${PROJECT_BINARY_DIR}/qembed_kernels.mri")
set(QEMBED_KERNELS_ARCHIVE "${PROJECT_BINARY_DIR}/libqembed_kernels.a")
set(_mri_content "create ${QEMBED_KERNELS_ARCHIVE}\n")
foreach(_lib IN LISTS QEMBED_KERNEL_LIBS QEMBED_HALIDE_RUNTIME)
  string(APPEND _mri_content "addlib $<TARGET_FILE:${_lib}>\n")
endforeach()
string(APPEND _mri_content "save\nend\n")
file(GENERATE OUTPUT "${_mri}" CONTENT "${_mri_content}")
set(_archives "")
foreach(_lib IN LISTS QEMBED_KERNEL_LIBS QEMBED_HALIDE_RUNTIME)
  list(APPEND _archives "$<TARGET_FILE:${_lib}>")
endforeach()
add_custom_command(
  OUTPUT "${QEMBED_KERNELS_ARCHIVE}"
  COMMAND "${CMAKE_COMMAND}" -DAR=${CMAKE_AR} -DMRI=${_mri} -DOUT=${QEMBED_KERNELS_ARCHIVE}
          -P "${PROJECT_SOURCE_DIR}/cmake/merge_archives.cmake"
  DEPENDS ${QEMBED_KERNEL_LIBS} ${QEMBED_HALIDE_RUNTIME} ${_archives} "${_mri}"
          "${PROJECT_SOURCE_DIR}/cmake/merge_archives.cmake"
  COMMENT "Merging ${_target_count}-target kernels and the Halide runtime into libqembed_kernels.a"
  VERBATIM)
add_custom_target(qembed_kernels_archive DEPENDS "${QEMBED_KERNELS_ARCHIVE}")

# qembed_kernels: the merged archive as a link target, with the kernels' headers and the
# Halide runtime header as its include directories.
add_library(qembed_kernels STATIC IMPORTED GLOBAL)
set_target_properties(qembed_kernels PROPERTIES IMPORTED_LOCATION "${QEMBED_KERNELS_ARCHIVE}")
add_dependencies(qembed_kernels qembed_kernels_archive)
target_include_directories(qembed_kernels INTERFACE "${CMAKE_CURRENT_BINARY_DIR}")
# Kernels call libm (pow for max_norm's p-norms), the runtime libpthread and libdl.
set(QEMBED_KERNEL_SYSTEM_LIBS Threads::Threads ${CMAKE_DL_LIBS} m)
target_link_libraries(qembed_kernels INTERFACE Halide::Runtime ${QEMBED_KERNEL_SYSTEM_LIBS})
