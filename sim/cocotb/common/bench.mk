# Shared part of every bench Makefile (sim/cocotb/<module>/Makefile), in the manner of
# Corundum / verilog-axi:
#
#   make                     # Icarus (default)
#   make SIM=verilator
#   make WAVES=1             # FST waveform: sim_build/<toplevel>.fst (Icarus), dump.fst (Verilator)
#   make PARAM_WAYS=4 ...    # any PARAM_<name> becomes a Verilog parameter on both simulators
#
# A bench Makefile sets DUT, SOURCES_LIST (a list name of rtl/sources.cmake) and its
# PARAM_* defaults, then includes this file. The HLS reference module (sessnic_ref) is
# taken from $(SESSNIC_PYREF), by default the project's build/python.
REPO         := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../../..)
COCOTB_DIR   := $(REPO)/sim/cocotb
VENV_BIN     := $(REPO)/.venv/bin

ifeq ($(shell command -v cocotb-config 2>/dev/null),)
# cocotb is installed in the project's .venv (make deps): run again with it in PATH.
.PHONY: _with_venv
_with_venv:
	@test -x $(VENV_BIN)/cocotb-config || { echo "cocotb not found: run 'make deps' at the top level"; exit 1; }
	@PATH="$(VENV_BIN):$$PATH" $(MAKE) --no-print-directory $(MAKECMDGOALS)
%: _with_venv ;
else

SIM          ?= icarus
WAVES        ?= 0
TOPLEVEL_LANG = verilog
TOPLEVEL     ?= $(DUT)
MODULE       ?= test_$(DUT)
COCOTB_HDL_TIMEUNIT      = 1ns
COCOTB_HDL_TIMEPRECISION = 1ps

SIM_BUILD    ?= sim_build
RTL_SOURCES  := $(shell python3 $(COCOTB_DIR)/common/rtl_sources.py $(SOURCES_LIST))
ifeq ($(SIM),icarus)
# Icarus 11 has no unpacked structs (the PeakRDL register block): it compiles a flattened
# copy of the sources (common/icarus_compat.py), rewritten only when they change.
VERILOG_SOURCES += $(shell python3 $(COCOTB_DIR)/common/icarus_compat.py $(SIM_BUILD)/flat $(RTL_SOURCES) || echo FLATTEN_FAILED)
else
VERILOG_SOURCES += $(RTL_SOURCES)
endif

export SESSNIC_PYREF ?= $(REPO)/build/python
export PYTHONPATH := $(COCOTB_DIR)/common:$(COCOTB_DIR):$(PYTHONPATH)

# PARAM_* -> parameters, and exported so the Python side sees the same values.
PARAMS := $(filter PARAM_%,$(.VARIABLES))
$(foreach p,$(PARAMS),$(eval export $(p)))

ifeq ($(SIM),icarus)
  COMPILE_ARGS += -g2012
  COMPILE_ARGS += $(foreach p,$(PARAMS),-P $(TOPLEVEL).$(subst PARAM_,,$(p))=$($(p)))
  # WAVES=1: cocotb's Icarus makefile adds the FST dump (sim_build/<toplevel>.fst)
else ifeq ($(SIM),verilator)
  COMPILE_ARGS += -Wno-fatal -Wno-lint -Wno-style --x-assign fast --x-initial fast -O2 $(REPO)/rtl/lint.vlt
  COMPILE_ARGS += $(foreach p,$(PARAMS),-G$(subst PARAM_,,$(p))=$($(p)))
  ifeq ($(WAVES),1)
    EXTRA_ARGS += --trace-fst --trace-structs
  endif
endif

include $(shell cocotb-config --makefiles)/Makefile.sim

clean::
	@rm -rf dump.fst sim_build results.xml

endif
