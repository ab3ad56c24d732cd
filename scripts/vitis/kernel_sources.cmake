# cmake -DSESSNIC_SOURCE_DIR=<repo> -P scripts/vitis/kernel_sources.cmake
# Prints the kernel's RTL sources (SESSNIC_RTL_KERNEL_SV of rtl/sources.cmake, the one
# list), one per line, for package_xo.tcl.
set(CMAKE_SOURCE_DIR ${SESSNIC_SOURCE_DIR})
include(${SESSNIC_SOURCE_DIR}/rtl/sources.cmake)
foreach(f ${SESSNIC_RTL_KERNEL_SV})
  execute_process(COMMAND ${CMAKE_COMMAND} -E echo ${f})
endforeach()
