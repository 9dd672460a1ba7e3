# A cross build needs the Halide generators built for the build machine. Halide's CMake
# imports them from the package `qembed-halide_generators` of a host build; if the user
# did not point qembed-halide_generators_ROOT at one, configure and build a
# generators-only host tree here, so one command does a whole cross build.
# Halide's CMake helpers come from the build machine's Halide, which the target sysroot
# does not hold: take their location from the host build's cache.
macro(_qembed_helpers_from_host host)
  if(NOT HalideHelpers_DIR AND EXISTS "${host}/CMakeCache.txt")
    load_cache("${host}" READ_WITH_PREFIX _host_ HalideHelpers_DIR)
    set(HalideHelpers_DIR "${_host_HalideHelpers_DIR}" CACHE PATH "Halide CMake helpers" FORCE)
  endif()
endmacro()

if(DEFINED qembed-halide_generators_ROOT)
  _qembed_helpers_from_host("${qembed-halide_generators_ROOT}")
  return()
endif()

set(_host "${CMAKE_BINARY_DIR}/host-generators")
message(STATUS "qembed: building the Halide generators for the build machine in ${_host}")
cmake_host_system_information(RESULT _jobs QUERY NUMBER_OF_LOGICAL_CORES)
# The host build must not inherit the cross toolchain from the environment.
set(_clean_env "${CMAKE_COMMAND}" -E env --unset=CC --unset=CXX --unset=CMAKE_TOOLCHAIN_FILE)
execute_process(
  COMMAND ${_clean_env} "${CMAKE_COMMAND}" -S "${PROJECT_SOURCE_DIR}" -B "${_host}"
          -G "${CMAKE_GENERATOR}" -DCMAKE_BUILD_TYPE=Release -DQEMBED_GENERATORS_ONLY=ON
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "configuring the host generators in ${_host} failed")
endif()
execute_process(
  COMMAND ${_clean_env} "${CMAKE_COMMAND}" --build "${_host}" --target qembed_generators
          --parallel ${_jobs}
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "building the host generators in ${_host} failed")
endif()
# Configure built them once; this target brings them up to date at build time (a no-op
# when they are), so an edited generator or schedule source regenerates the kernels of
# this cross build as it would a native one's. cmake/kernels.cmake makes every kernel
# depend on it.
add_custom_target(qembed_host_generators
  COMMAND ${_clean_env} "${CMAKE_COMMAND}" --build "${_host}" --target qembed_generators
  BYPRODUCTS "${_host}/qembed_generators"
  COMMENT "qembed: the build machine's Halide generators, rebuilt if their sources changed"
  VERBATIM)
set(qembed-halide_generators_ROOT "${_host}")
_qembed_helpers_from_host("${_host}")
