# sessnic front door. `make test` and `make demo` work on a fresh Debian 12 machine.
BUILD    ?= build
JOBS     ?= $(shell nproc)
CMAKE_FLAGS ?=
VENV     := .venv
PY       := $(VENV)/bin/python

.PHONY: all deps build test bench demo synth sanitize tsan wire clean

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/build.ninja:
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)

# Every test: ctest (unit, differential, OpenSSL, backplane, dispatcher, Verilator) and the cocotb benches.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900
	@./scripts/run_pytest.sh

# Benchmarks print their figures and write build/bench/summary.json.
bench: build
	@./scripts/run_bench.sh $(BUILD)

# The main job: dispatcher + three servers on loopback, travel scenario sharing off vs on.
# DEVICE=verilator: the servers' cards are Verilated RTL cards (docs/rtl.md).
DEVICE   ?= model
demo: build
	@DEVICE=$(DEVICE) ./scripts/demo.sh $(BUILD)

# Regenerate the shared wire-format definitions from spec/wire.toml.
wire:
	@python3 scripts/gen_wire.py

# Address + undefined-behaviour sanitizers over the whole ctest suite.
sanitize: deps
	@cmake -S . -B $(BUILD)-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSESSNIC_SANITIZE=address,undefined >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)
	@cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS) --timeout 1800 -LE slow

tsan: deps
	@cmake -S . -B $(BUILD)-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSESSNIC_SANITIZE=thread >/dev/null
	@cmake --build $(BUILD)-tsan -j $(JOBS)
	@cd $(BUILD)-tsan && ctest --output-on-failure -j $(JOBS) --timeout 1800 -L threads

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan

# Yosys synth_xilinx (UltraScale+) of the card top and every module: LUT/FF/BRAM/URAM/DSP, LUT levels per module, no latches.
synth:
	@bash scripts/bench.d/synth.sh $(BUILD)

# Regenerate the register block, C header and docs from spec/regs.rdl (PeakRDL in .venv).
.PHONY: regs
regs:
	@./scripts/gen_regs.sh

# Installs libsessnic (C API), sessnic.pc, the CMake package, the programs and the nginx
# module under PREFIX (docs/integrate.md).
PREFIX ?= /usr/local
.PHONY: install
install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

# cocotb benches (sim/cocotb/<module>/, docs/verification.md) on one simulator, every
# geometry: make cocotb SIM=icarus | make cocotb SIM=verilator
.PHONY: cocotb
cocotb: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) --target sessnic_ref
	@SIM=$(or $(SIM),icarus) SESSNIC_COCOTB_ALL=1 ./scripts/run_pytest.sh $(BUILD)

# The Vitis RTL kernel and its xclbin (scripts/vitis/, docs/alveo-rtl.md):
#   make xclbin PLATFORM=xilinx_u280_gen3x16_xdma_1_202211_1 TARGET=hw NET_XO=cmac_0.xo
# Needs AMD Vitis; without it prints why and exits 2.
.PHONY: xclbin
xclbin:
	@PLATFORM=$(PLATFORM) TARGET=$(or $(TARGET),hw) NET_XO=$(NET_XO) ./scripts/vitis/build_xclbin.sh

# Line and toggle coverage of the RTL (verilator --coverage) over the module cocotb
# benches, per module (sim/coverage/, docs/verification.md).
.PHONY: coverage
coverage: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) --target sessnic_ref
	@./sim/coverage/run_coverage.sh $(BUILD)

# The peer benchmark (docs/benchmarks.md, "Peers"): HAProxy -> nginx, HAProxy -> Apache +
# memcached, sessnic-dispatch -> sessnic-server and HAProxy -> sessnic-server side by side on
# loopback; figures in build/bench/peers/peers.json, charts in build/bench/peers_*.png.
# Also part of `make bench` (scripts/bench.d/peers.sh). Longer: PEERS_ARGS="--reps 5 --sat-seconds 20".
.PHONY: bench-peers
bench-peers: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS) --target peer_client sessnic sessnic-server sessnic-dispatch
	@./scripts/bench.d/peers.sh $(BUILD)
