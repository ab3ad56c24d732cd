# sessnic_verilated_model(<name> TOP <module> PREFIX <Vclass> SOURCES <sv...> [ARGS <verilator args...>])
#
# Verilates an RTL top into an INTERFACE target <name> that any test, bench or driver
# links to. Verilator runs at BUILD time (a custom command), never at configure time,
# so a broken RTL edit cannot break anyone's cmake configure step. Tracing is compiled
# in only with -DSESSNIC_RTL_TRACE=ON (see docs/rtl.md); the models are verilated once
# per configuration and compiled -O2 (fast path) / -O1 (slow path) for build time.
# SESSNIC_RTL_DIR and the RTL source lists (SESSNIC_RTL_*_SV) are directory-scoped
# variables, so included before the include guard (every includer sees them).
include(${CMAKE_SOURCE_DIR}/rtl/sources.cmake)
include_guard(GLOBAL)

find_package(Threads REQUIRED)
find_program(SESSNIC_VERILATOR_BIN verilator REQUIRED)
option(SESSNIC_RTL_TRACE "Compile FST waveform tracing into the Verilated models (SESSNIC_TRACE=path.fst)" OFF)

if(NOT SESSNIC_VERILATOR_ROOT)
  execute_process(COMMAND ${SESSNIC_VERILATOR_BIN} --getenv VERILATOR_ROOT
                  OUTPUT_VARIABLE _vroot OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(SESSNIC_VERILATOR_ROOT ${_vroot} CACHE PATH "Verilator install root")
endif()

# Verilator's runtime (verilated.cpp & co), compiled once for every model.
if(NOT TARGET sessnic_verilated_rt)
  set(_vinc ${SESSNIC_VERILATOR_ROOT}/include)
  set(_rt_src ${_vinc}/verilated.cpp ${_vinc}/verilated_threads.cpp)
  if(SESSNIC_RTL_TRACE)
    list(APPEND _rt_src ${_vinc}/verilated_fst_c.cpp)
  endif()
  add_library(sessnic_verilated_rt STATIC ${_rt_src})
  target_include_directories(sessnic_verilated_rt SYSTEM PUBLIC ${_vinc} ${_vinc}/vltstd)
  target_compile_options(sessnic_verilated_rt PRIVATE -w)
  if(SESSNIC_RTL_TRACE)
    target_compile_definitions(sessnic_verilated_rt PUBLIC VM_TRACE=1 VM_TRACE_FST=1 VM_TRACE_VCD=0
                                                           VM_COVERAGE=0 VM_SC=0)
    target_link_libraries(sessnic_verilated_rt PUBLIC z)
  else()
    target_compile_definitions(sessnic_verilated_rt PUBLIC VM_TRACE=0 VM_TRACE_FST=0 VM_TRACE_VCD=0
                                                           VM_COVERAGE=0 VM_SC=0)
  endif()
  target_link_libraries(sessnic_verilated_rt PUBLIC Threads::Threads)
endif()

function(sessnic_verilated_model name)
  cmake_parse_arguments(V "" "TOP;PREFIX" "SOURCES;ARGS" ${ARGN})
  set(mdir ${CMAKE_CURRENT_BINARY_DIR}/${name})
  file(MAKE_DIRECTORY ${mdir})
  set(trace_args)
  if(SESSNIC_RTL_TRACE)
    set(trace_args --trace-fst --trace-structs)
  endif()
  set(archive ${mdir}/${V_PREFIX}__ALL.a)
  set(objcache)
  if(SESSNIC_CCACHE)
    set(objcache " OBJCACHE=${SESSNIC_CCACHE}")
  endif()
  # The headers C++ code includes are byproducts: without them ninja stats them before
  # Verilator rewrites them, and a device built against the old model's layout is not
  # recompiled until the next build.
  add_custom_command(
    OUTPUT ${archive}
    BYPRODUCTS ${mdir}/${V_PREFIX}.h ${mdir}/${V_PREFIX}___024root.h ${mdir}/${V_PREFIX}__Syms.h
    COMMAND ${SESSNIC_VERILATOR_BIN} --cc --build -j 1 -MAKEFLAGS "-s OPT_FAST=-O2 OPT_SLOW=-O1${objcache}"
            --Mdir ${mdir} --prefix ${V_PREFIX} --top-module ${V_TOP}
            -O3 --x-assign fast --x-initial fast ${trace_args} ${V_ARGS}
            ${SESSNIC_RTL_DIR}/lint.vlt ${V_SOURCES}
    DEPENDS ${V_SOURCES} ${SESSNIC_RTL_DIR}/lint.vlt
    COMMENT "Verilating ${V_TOP} (${V_PREFIX})"
    VERBATIM)
  add_custom_target(${name}_verilate DEPENDS ${archive})
  add_library(${name} INTERFACE)
  add_dependencies(${name} ${name}_verilate)
  target_include_directories(${name} SYSTEM INTERFACE ${mdir})
  target_link_libraries(${name} INTERFACE ${archive} sessnic_verilated_rt)
endfunction()
