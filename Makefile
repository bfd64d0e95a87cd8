# ckernel — `make help` lists every target.
#
# Knobs (make VAR=value):
#   CC      C compiler (default cc)              ARCH    target flags (default -march=native)
#   OPENMP  OpenMP flag (default -fopenmp; empty to build single-threaded)
#   PYTHON  interpreter with torch, numpy, pytest (default /usr/bin/python3: Debian's packages)

CC      ?= cc
ARCH    ?= -march=native
OPENMP  ?= -fopenmp
PYTHON  ?= /usr/bin/python3
WARN     = -std=c99 -Wall -Wextra -Wpedantic
CFLAGS  ?= -O2
ALL_CFLAGS = $(WARN) $(CFLAGS) $(ARCH) $(OPENMP) -I.
SAN      = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
B        = build
# AVX-512 paths (ckernel.h: CK_HAVE_AVX512) are compiled and warning-checked on every x86 machine
# (test-header, build/test_*_avx512) and run only where the CPU has these features; elsewhere the
# tests say "not run (no AVX-512)". build/test_*_avx2 keeps the AVX2 paths tested on AVX-512 CPUs.
X86     := $(shell uname -m | grep -qE '^(x86_64|i.86)$$' && echo 1)
AVX512_FLAGS = -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavx512bf16
CPU_AVX512 := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | tr ' ' '\n' | grep -cxE 'avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16')

HEADERS = ckernel.h
GEN_HEADERS = ckernel_gen.h ckernel.h $(wildcard models/*.h) # ckgen includes ckernel.h (the type table, the repacked layouts)
EXAMPLES = $(B)/mlp_train
TOOLS = $(B)/ck $(B)/ckgen
DEB_PKGS = python3-torch python3-numpy python3-pytest python3-jinja2

.PHONY: all help examples tools check-model test test-header test-c test-asan test-py test-mcu test-arm test-mpi size-mcu mcu-freestanding deps deps-mcu deps-arm deps-mpi bench bench-kernels bench-quant bench-arm bench-train bench-tokenizer parity-long fuzz fuzz-tokenizer fuzz-run-options fuzz-ckgen fuzz-train-state demo clean

all: tools $(B)/libckernel.so $(B)/libckernel_scalar.so examples ## build the ck tool, ckgen, the oracle's shared libraries and the examples

help: ## list the targets
	@echo "ckernel — header-only transformer kernels. Targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-16s %s\n", $$1, $$2}'
	@echo "Knobs: CC=$(CC) ARCH=$(ARCH) OPENMP=$(OPENMP) PYTHON=$(PYTHON)"

$(B):
	@mkdir -p $(B)

# ---- libraries for the PyTorch oracle (ctypes) ------------------------------------------
$(B)/libckernel.so: $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) -fPIC -shared -DCK_IMPLEMENTATION -x c ckernel.h -o $@ -lm
$(B)/libckernel_scalar.so: $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) -fPIC -shared -DCK_IMPLEMENTATION -DCK_NO_SIMD -x c ckernel.h -o $@ -lm

# ---- tools -----------------------------------------------------------------------------
tools: $(TOOLS) ## build/ck (info, quantize, dequantize, build, run) and build/ckgen (the generator)
$(B)/ck: examples/ck.c examples/run.c $(HEADERS) | $(B)
	$(CC) $(WARN) $(CFLAGS) $(ARCH) -I. -DCK_SOURCE_DIR='"$(CURDIR)"' $< -o $@ -lm
$(B)/ckgen: $(GEN_HEADERS) | $(B)
	$(CC) $(WARN) $(CFLAGS) -I. -DCK_GEN_MAIN -x c ckernel_gen.h -o $@ -lm
$(B)/mkmodel: tests/mkmodel.c $(HEADERS) | $(B)
	$(CC) $(WARN) $(CFLAGS) -I. $< -o $@ -lm

# ---- examples --------------------------------------------------------------------------
examples: $(EXAMPLES) ## build examples/ (mlp_train: the kernels by hand, trained with AdamW)
$(B)/%: examples/%.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lm

# ---- C tests ---------------------------------------------------------------------------
$(B)/test_kernels: tests/test_kernels.c examples/ck_peak.h $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lm
$(B)/test_kernels_scalar: tests/test_kernels.c examples/ck_peak.h $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) -DCK_NO_SIMD $< -o $@ -lm
$(B)/test_kernels_asan: tests/test_kernels.c examples/ck_peak.h $(HEADERS) | $(B)
	$(CC) $(WARN) $(SAN) $(ARCH) -I. $< -o $@ -lm
$(B)/test_quant: tests/test_quant.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lm
$(B)/test_quant_scalar: tests/test_quant.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) -DCK_NO_SIMD $< -o $@ -lm
$(B)/test_kernels_avx2: tests/test_kernels.c examples/ck_peak.h $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) -DCK_NO_AVX512 $< -o $@ -lm
$(B)/test_kernels_avx512: tests/test_kernels.c examples/ck_peak.h $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $(AVX512_FLAGS) $< -o $@ -lm
$(B)/test_quant_avx2: tests/test_quant.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) -DCK_NO_AVX512 $< -o $@ -lm
$(B)/test_quant_avx512: tests/test_quant.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $(AVX512_FLAGS) $< -o $@ -lm
$(B)/test_quant_asan: tests/test_quant.c $(HEADERS) | $(B)
	$(CC) $(WARN) $(SAN) $(ARCH) -I. $< -o $@ -lm
$(B)/test_gguf: tests/test_gguf.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lm
$(B)/test_gguf_asan: tests/test_gguf.c $(HEADERS) | $(B)
	$(CC) $(WARN) $(SAN) $(ARCH) -I. $< -o $@ -lm
$(B)/test_tokenizer: tests/test_tokenizer.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lm
$(B)/test_tokenizer_asan: tests/test_tokenizer.c $(HEADERS) | $(B)
	$(CC) $(WARN) $(SAN) $(ARCH) -I. $< -o $@ -lm
$(B)/ckgen_asan: $(GEN_HEADERS) | $(B)
	$(CC) $(WARN) $(SAN) -I. -DCK_GEN_MAIN -x c ckernel_gen.h -o $@ -lm
# ck and ckgen under ASan+UBSan, side by side as ck expects them (tests/test_hostile.py replays
# tests/data/hostile through them, with the run programs compiled under the same sanitizers)
$(B)/asan/ck: examples/ck.c examples/run.c $(HEADERS) | $(B)
	@mkdir -p $(B)/asan
	$(CC) $(WARN) $(SAN) $(ARCH) -I. -DCK_SOURCE_DIR='"$(CURDIR)"' $< -o $@ -lm
$(B)/asan/ckgen: $(GEN_HEADERS) | $(B)
	@mkdir -p $(B)/asan
	$(CC) $(WARN) $(SAN) -I. -DCK_GEN_MAIN -x c ckernel_gen.h -o $@ -lm

test-header: | $(B) ## the header compiles warning-free: gcc, clang, -std=c99 -Wpedantic -Werror, scalar and SIMD, and as C++
	@printf '#define CK_IMPLEMENTATION\n#include "ckernel.h"\n' > $(B)/tu.c
	@for cc in gcc clang; do command -v $$cc >/dev/null || { echo "test-header: $$cc not found"; exit 1; }; \
	  for f in "-DCK_NO_SIMD" "$(ARCH)" "$(ARCH) -fopenmp"; do \
	    $$cc $(WARN) -Werror -O2 $$f -I. -c $(B)/tu.c -o $(B)/tu.o || { echo "FAIL: $$cc $$f"; exit 1; }; done; done
	@for cxx in g++ clang++; do command -v $$cxx >/dev/null || { echo "test-header: $$cxx not found"; exit 1; }; \
	  $$cxx -x c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -O2 $(ARCH) -I. -c $(B)/tu.c -o $(B)/tu.o || { echo "FAIL: $$cxx"; exit 1; }; done
ifeq ($(X86),1)
	@for cc in gcc clang; do $$cc $(WARN) -Werror -O2 $(ARCH) $(AVX512_FLAGS) -fopenmp -I. -c $(B)/tu.c -o $(B)/tu.o || { echo "FAIL: $$cc AVX-512"; exit 1; }; done
endif
	@if command -v $(ARM_CC) >/dev/null; then \
	  for f in "$(ARM_FLAGS_v8)" "$(ARM_FLAGS_dotprod) -fopenmp" "$(ARM_FLAGS_v8) -DCK_NO_NEON"; do \
	    $(ARM_CC) $(WARN) -Werror -O2 $$f -I. -c $(B)/tu.c -o $(B)/tu.o || { echo "FAIL: $(ARM_CC) $$f"; exit 1; }; \
	    clang --target=aarch64-linux-gnu $(WARN) -Werror -O2 $$f -I. -c $(B)/tu.c -o $(B)/tu.o || { echo "FAIL: clang aarch64 $$f"; exit 1; }; done; \
	  echo "header: AArch64 NEON clean under $(ARM_CC) and clang --target=aarch64-linux-gnu ($(ARM_FLAGS_v8), $(ARM_FLAGS_dotprod), CK_NO_NEON)"; \
	else echo "header: AArch64 NEON paths NOT CHECKED ($(ARM_CC) not found; make deps-arm installs it)"; fi
	@printf '#include "ckernel_gen.h"\nint ck_gen_ops = CK_OP_COUNT;\n' > $(B)/gen.c
	@gcc $(WARN) -Werror -c $(B)/gen.c -I. -o $(B)/gen.o && clang $(WARN) -Werror -c $(B)/gen.c -I. -o $(B)/gen.o
	@echo "header: clean under gcc and clang (C99, scalar and $(ARCH), with and without OpenMP) and g++/clang++ (C++11)"

SIMD_TESTS = $(if $(X86),$(B)/test_kernels_avx2 $(B)/test_quant_avx2 $(B)/test_kernels_avx512 $(B)/test_quant_avx512)
test-c: $(B)/test_kernels $(B)/test_kernels_scalar $(B)/test_quant $(B)/test_quant_scalar $(SIMD_TESTS) $(B)/test_gguf $(B)/test_tokenizer examples tools ## C tests: SIMD (native, AVX2-only, AVX-512 where the CPU has it) vs scalar, thread-count determinism, edge cases, weight formats, GGUF files, tokenizer reference vectors
	./$(B)/test_kernels
	./$(B)/test_kernels_scalar
	./$(B)/test_quant
	./$(B)/test_quant_scalar
ifeq ($(X86),1)
	./$(B)/test_kernels_avx2
	./$(B)/test_quant_avx2
ifeq ($(CPU_AVX512),5)
	./$(B)/test_kernels_avx512
	./$(B)/test_quant_avx512
else
	@echo "test_kernels_avx512, test_quant_avx512: compiled warning-free, NOT RUN (no AVX-512 F/BW/VL/VNNI/BF16 on this CPU)"
endif
endif
	./$(B)/test_gguf tests/data
	./$(B)/test_tokenizer tests/data

test-asan: $(B)/test_kernels_asan $(B)/test_quant_asan $(B)/test_gguf_asan $(B)/test_tokenizer_asan ## C tests under AddressSanitizer + UndefinedBehaviorSanitizer (incl. every hostile GGUF and tokenizer case)
	./$(B)/test_kernels_asan
	./$(B)/test_quant_asan
	./$(B)/test_gguf_asan tests/data
	./$(B)/test_tokenizer_asan tests/data

test-py: deps $(B)/libckernel.so $(B)/libckernel_scalar.so $(TOOLS) $(B)/mkmodel $(B)/asan/ck $(B)/asan/ckgen ## PyTorch parity tests of every kernel (forward and backward) and of the generated models (oracle/models.py)
	CC="$(CC)" CK_TEST_ARCH="$(ARCH)" CK_TEST_OPENMP="$(OPENMP)" $(PYTHON) -m pytest -p no:cacheprovider -q --ignore=tests/test_mpi.py tests

test: deps deps-arm deps-mpi test-header test-c test-asan test-mcu test-arm test-mpi test-py ## everything (installs Debian's torch, numpy, pytest, jinja2, Open MPI, the MCU and AArch64 cross toolchains and qemu if missing); ends with pytest's summary

deps: ## install python3-torch, python3-numpy, python3-pytest, python3-jinja2, clang and chromium with apt-get if missing
	@$(PYTHON) -c "import torch, numpy, pytest, jinja2" 2>/dev/null || { \
	  echo "installing $(DEB_PKGS) (Debian packages)"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(DEB_PKGS) >/dev/null; \
	  $(PYTHON) -c "import torch, numpy, pytest, jinja2" || { echo "deps: $(PYTHON) still cannot import torch, numpy, pytest, jinja2"; exit 1; }; }
	@command -v clang >/dev/null || { SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  echo "installing clang (header test)"; DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends clang >/dev/null; }
	@command -v chromium >/dev/null || { SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  echo "installing chromium (tests/test_view.py opens ck view's page in it, headless)"; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# ---- MPI: data-parallel training (examples/train.c -DCK_MPI, examples/train_mpi.h) ---------------
# Open MPI from Debian. tests/test_mpi.py runs mpirun as root (CI) with OMPI_ALLOW_RUN_AS_ROOT,
# oversubscribed (3 ranks on 2 cores), over shared memory only (btl self,vader: the loopback
# interface is the only network it needs), without vader's single-copy mechanism (CMA needs ptrace
# rights that containers' seccomp profiles deny).
MPI_PKGS = libopenmpi-dev openmpi-bin
deps-mpi: ## install Open MPI (libopenmpi-dev, openmpi-bin: mpicc, mpirun; Debian packages) if missing
	@command -v mpicc >/dev/null && command -v mpirun >/dev/null || { \
	  echo "installing $(MPI_PKGS) (Debian packages)"; SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(MPI_PKGS) >/dev/null; }

test-mpi: deps deps-mpi $(B)/libckernel.so $(TOOLS) $(B)/mkmodel ## data-parallel training over MPI (train.c -DCK_MPI under mpirun): -np 2 and 3 vs 1 process with --accum, rank-order gradient sum, bit-identical reruns, resume with another N, a killed rank, stop signals, ranks that differ refused
	CC="$(CC)" CK_TEST_ARCH="$(ARCH)" $(PYTHON) -m pytest -p no:cacheprovider -q tests/test_mpi.py

# ---- microcontrollers: examples/mcu/firmware.c on Cortex-M4F, Cortex-M55 (Helium), RV32 under qemu ----
# MCU_GGUF is the model the firmware runs: swap in any GGUF that ckgen knows and the boards hold
# (make test-mcu MCU_GGUF=path/to/model.gguf). The default is a random-weight Llama from mkmodel.
MCU_GGUF   ?= $(B)/mcu/tiny-llama-q8_0.gguf
MCU_TINY    = --vocab 256 --embd 128 --layers 2 --heads 4 --kv-heads 2 --ff 256 --ctx 64 --type q8_0 --seed 7
MCU_GEN     = --max-ctx 32 --max-prompt 8
MCU_PKGS    = gcc-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc
MCU_TARGETS = m4 m55 rv32
MCU_WARN    = -std=c99 -Wall -Wextra -Wpedantic -Werror
MCU_COMMON  = $(MCU_WARN) -O2 -ffunction-sections -fdata-sections -Wl,--gc-sections -DCK_NO_LORA \
              --specs=picolibc.specs --oslib=semihost -Wl,--defsym=__stack_size=0x10000 -I.
mcu_mem     = -Wl,--defsym=__flash=$(1) -Wl,--defsym=__flash_size=$(2) -Wl,--defsym=__ram=$(3) -Wl,--defsym=__ram_size=$(4)
MCU_CC_m4   = arm-none-eabi-gcc -mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb $(call mcu_mem,0x00000000,4M,0x20000000,4M)
MCU_CC_m55  = arm-none-eabi-gcc -mcpu=cortex-m55 -mfloat-abi=hard -mthumb $(call mcu_mem,0x10000000,512K,0x31000000,4M)
MCU_CC_rv32 = riscv64-unknown-elf-gcc -march=rv32imafc -mabi=ilp32f -mcmodel=medany $(call mcu_mem,0x80000000,4M,0x80400000,4M)
MCU_QEMU_m4   = qemu-system-arm -M mps2-an386
MCU_QEMU_m55  = qemu-system-arm -M mps3-an547
MCU_QEMU_rv32 = qemu-system-riscv32 -M virt -bios none
MCU_QEMU_ARGS = -display none -monitor none -serial none -semihosting-config enable=on,target=native -kernel
MCU_MODEL   = -I$(B)/mcu/gen -DCK_MODEL_HEADER='"mcumodel.h"' -DCK_WEIGHTS_HEADER='"mcumodel_weights.h"'

deps-mcu: ## install the cross compilers, picolibc and qemu (Debian packages) if missing
	@command -v arm-none-eabi-gcc >/dev/null && command -v riscv64-unknown-elf-gcc >/dev/null && command -v qemu-system-arm >/dev/null \
	  && command -v qemu-system-riscv32 >/dev/null && [ -d /usr/lib/picolibc/arm-none-eabi ] && [ -d /usr/lib/picolibc/riscv64-unknown-elf ] || { \
	  echo "installing $(MCU_PKGS) (Debian packages)"; SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(MCU_PKGS) >/dev/null; }

$(B)/mcu/tiny-llama-q8_0.gguf: $(B)/mkmodel
	@mkdir -p $(@D)
	./$(B)/mkmodel llama $@ $(MCU_TINY)
$(B)/mcu/gen/mcumodel.h: $(MCU_GGUF) $(B)/ckgen
	@mkdir -p $(@D)
	./$(B)/ckgen $(MCU_GGUF) -o $(B)/mcu/gen --name mcumodel $(MCU_GEN) --weights-c --no-bump
# the host reference: the same firmware file, the host compiler's default target (scalar paths, as on the boards)
$(B)/mcu/fw_host: examples/mcu/firmware.c $(HEADERS) $(B)/mcu/gen/mcumodel.h
	$(CC) $(WARN) -Werror -O2 -I. $(MCU_MODEL) $< -o $@ -lm
$(B)/mcu/fw_%.elf: examples/mcu/firmware.c $(HEADERS) $(B)/mcu/gen/mcumodel.h | deps-mcu
	$(MCU_CC_$*) $(MCU_COMMON) --crt0=semihost -DFW_LINKER_SYMBOLS $(MCU_MODEL) $< -o $@ -lm
# the runtime core: the firmware with its printf calls compiled out and picolibc's minimal startup
# (the semihosting one prints faults with printf); measured by size-mcu, not run
$(B)/mcu/core_%.elf: examples/mcu/firmware.c $(HEADERS) $(B)/mcu/gen/mcumodel.h | deps-mcu
	$(MCU_CC_$*) $(MCU_COMMON) --crt0=minimal -DFW_LINKER_SYMBOLS -DFW_NO_PRINTF $(MCU_MODEL) $< -o $@ -lm
$(B)/mcu/simd_m55.elf: tests/test_simd_mcu.c $(HEADERS) | deps-mcu
	$(MCU_CC_m55) $(MCU_COMMON) --crt0=semihost -DCK_EXPECT_SIMD='"mve"' $< -o $@ -lm

# ckernel.h alone with CK_NO_STDIO, per target: -ffreestanding, no VLAs, warning-free, and it
# needs nothing beyond libm, five string functions and the compiler's runtime (__*).
MCU_ALLOWED = cos sin pow log sqrt expf erff rintf roundf tanhf sqrtf logf memchr memcmp memcpy memmove memset strlen
mcu-freestanding: deps-mcu ## ckernel.h with CK_NO_STDIO: -ffreestanding, no VLAs, only libm/string.h/compiler runtime, per MCU target
	@mkdir -p $(B)/mcu && printf '#define CK_NO_STDIO\n#define CK_IMPLEMENTATION\n#include "ckernel.h"\n' > $(B)/mcu/freestanding.c
	@$(foreach t,$(MCU_TARGETS),$(MCU_CC_$(t)) --specs=picolibc.specs $(MCU_WARN) -Wvla -ffreestanding -DNDEBUG -O2 -I. -c $(B)/mcu/freestanding.c -o $(B)/mcu/freestanding_$(t).o &&) true
	@bad=$$(nm -u $(foreach t,$(MCU_TARGETS),$(B)/mcu/freestanding_$(t).o) | awk 'NF == 2 { print $$2 }' | grep -v '^__' | sort -u | grep -vxF "$$(printf '%s\n' $(MCU_ALLOWED))" || true); \
	  [ -z "$$bad" ] || { echo "mcu-freestanding: ckernel.h with CK_NO_STDIO needs" $$bad; exit 1; }
	@echo "freestanding: ckernel.h with CK_NO_STDIO compiles with -ffreestanding -Wvla -Werror for $(MCU_TARGETS) and needs only libm, string.h and the compiler runtime"

test-mcu: deps-mcu mcu-freestanding $(B)/mcu/fw_host $(addprefix $(B)/mcu/fw_,$(addsuffix .elf,$(MCU_TARGETS))) $(B)/mcu/simd_m55.elf ## the model on Cortex-M4F, Cortex-M55 (Helium) and RV32 under qemu: same tokens as the host, logits within 1e-4; Helium vs scalar matmuls
	./$(B)/mcu/fw_host > $(B)/mcu/out_host.txt
	@for t in $(MCU_TARGETS); do \
	  case $$t in m4) q="$(MCU_QEMU_m4)";; m55) q="$(MCU_QEMU_m55)";; rv32) q="$(MCU_QEMU_rv32)";; esac; \
	  echo "timeout 120 $$q ... $(B)/mcu/fw_$$t.elf"; \
	  timeout 120 $$q $(MCU_QEMU_ARGS) $(B)/mcu/fw_$$t.elf > $(B)/mcu/out_$$t.txt 2>&1 || { cat $(B)/mcu/out_$$t.txt; echo "test-mcu: $$t failed"; exit 1; }; done
	$(PYTHON) tests/mcu_compare.py $(B)/mcu/out_host.txt $(foreach t,$(MCU_TARGETS),$(B)/mcu/out_$(t).txt $(t))
	timeout 120 $(MCU_QEMU_m55) $(MCU_QEMU_ARGS) $(B)/mcu/simd_m55.elf

size-mcu: deps-mcu $(addprefix $(B)/mcu/core_,$(addsuffix .elf,$(MCU_TARGETS))) $(addprefix $(B)/mcu/fw_,$(addsuffix .elf,$(MCU_TARGETS))) ## bytes of runtime core code (kernels + model + sampler, no printf), weights, arena, per target
	@sh tests/mcu_size.sh $(B)/mcu $(MCU_TARGETS)

# ---- AArch64 (NEON) under qemu user-mode emulation ------------------------------------------
# The C kernel and weight-format tests, cross-built for two targets, run under qemu-aarch64 with a
# CPU model that has exactly the features the build may use:
#   v8       -march=armv8-a: NEON, widening multiplies (no sdot); on a Cortex-A53 (ARMv8.0) model
#   dotprod  -march=armv8.2-a+dotprod+fp16: the sdot kernels; on qemu's "max" model (has both)
# Dynamically linked against Debian's arm64 libc, which qemu finds through -L. Each binary checks
# that its build selected the expected paths (CK_EXPECT_SIMD). Emulated: timings mean nothing.
ARM_PKGS          = gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
ARM_CC            = aarch64-linux-gnu-gcc
ARM_SYSROOT       = /usr/aarch64-linux-gnu
ARM_TARGETS       = v8 dotprod
ARM_FLAGS_v8      = -march=armv8-a
ARM_FLAGS_dotprod = -march=armv8.2-a+dotprod+fp16
ARM_SIMD_v8       = neon
ARM_SIMD_dotprod  = neon+dotprod
ARM_CPU_v8        = cortex-a53
ARM_CPU_dotprod   = max
ARM_QEMU          = qemu-aarch64 -L $(ARM_SYSROOT)
ARM_TESTS         = $(foreach a,$(ARM_TARGETS),$(B)/arm/test_kernels_$(a) $(B)/arm/test_quant_$(a))

deps-arm: ## install the AArch64 cross compiler, its libc and qemu-user (Debian packages) if missing
	@command -v $(ARM_CC) >/dev/null && command -v qemu-aarch64 >/dev/null && [ -e $(ARM_SYSROOT)/lib/libc.so.6 ] || { \
	  echo "installing $(ARM_PKGS) (Debian packages)"; SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(ARM_PKGS) >/dev/null; }

define ARM_TEST_RULE
$(B)/arm/$(1)_$(2): tests/$(1).c examples/ck_peak.h $(HEADERS) | deps-arm
	@mkdir -p $$(@D)
	$(ARM_CC) $(WARN) -Werror $(CFLAGS) $(ARM_FLAGS_$(2)) -fopenmp -DCK_EXPECT_SIMD='"$(ARM_SIMD_$(2))"' -I. $$< -o $$@ -lm
endef
$(foreach t,test_kernels test_quant bench_kernels bench_quant,$(foreach a,$(ARM_TARGETS),$(eval $(call ARM_TEST_RULE,$(t),$(a)))))
ARM_BENCHES       = $(foreach a,$(ARM_TARGETS),$(B)/arm/bench_kernels_$(a) $(B)/arm/bench_quant_$(a))
# ck and ckgen for AArch64 (tests/arm_hostile.py puts host-run wrappers beside them)
define ARM_TOOL_RULE
$(B)/arm/$(1)/ck: examples/ck.c examples/run.c $(HEADERS) | deps-arm
	@mkdir -p $$(@D)
	$(ARM_CC) $(WARN) -Werror $(CFLAGS) $(ARM_FLAGS_$(1)) -I. -DCK_SOURCE_DIR='"$(CURDIR)"' \
	  -DCK_BUILD_CFLAGS='"-O2 $(ARM_FLAGS_$(1)) -fopenmp"' $$< -o $$@ -lm
$(B)/arm/$(1)/ckgen.aarch64: $(GEN_HEADERS) | deps-arm
	@mkdir -p $$(@D)
	$(ARM_CC) $(WARN) -Werror $(CFLAGS) $(ARM_FLAGS_$(1)) -I. -DCK_GEN_MAIN -x c ckernel_gen.h -o $$@ -lm
endef
$(foreach a,$(ARM_TARGETS),$(eval $(call ARM_TOOL_RULE,$(a))))
ARM_TOOLS         = $(foreach a,$(ARM_HOSTILE_TARGETS),$(B)/arm/$(a)/ck $(B)/arm/$(a)/ckgen.aarch64)
# "NAME:CPU:FLAGS" per target, for tests/arm_models.py and tests/arm_hostile.py
ARM_SPECS         = $(foreach a,$(ARM_TARGETS),"$(a):$(ARM_CPU_$(a)):$(ARM_FLAGS_$(a)) -fopenmp")
# the hostile corpus exercises the input checks (no SIMD in them) and the one good program: the
# baseline target is enough (ARM_HOSTILE_TARGETS="v8 dotprod" runs both: about 75 s more)
ARM_HOSTILE_TARGETS ?= v8
ARM_PY_ENV        = CC="$(CC)" CK_TEST_ARCH="$(ARCH)" ARM_CC="$(ARM_CC)" ARM_QEMU="$(ARM_QEMU)"

test-arm: $(ARM_TESTS) $(ARM_BENCHES) $(ARM_TOOLS) $(TOOLS) $(B)/mkmodel ## on AArch64 under qemu (armv8-a NEON on a Cortex-A53 model, armv8.2-a+dotprod on "max"): the C kernel and weight-format tests (NEON vs scalar, thread-count determinism), every family's generated program vs the x86 scalar build, the hostile corpus, the benches' smoke runs
	$(ARM_QEMU) -cpu $(ARM_CPU_v8) $(B)/arm/test_kernels_v8
	$(ARM_QEMU) -cpu $(ARM_CPU_v8) $(B)/arm/test_quant_v8
	$(ARM_QEMU) -cpu $(ARM_CPU_dotprod) $(B)/arm/test_kernels_dotprod
	$(ARM_QEMU) -cpu $(ARM_CPU_dotprod) $(B)/arm/test_quant_dotprod
	$(ARM_PY_ENV) $(PYTHON) tests/arm_models.py $(B) $(ARM_SPECS)
	$(ARM_PY_ENV) $(PYTHON) tests/arm_hostile.py $(B) $(foreach a,$(ARM_HOSTILE_TARGETS),"$(a):$(ARM_CPU_$(a)):$(ARM_FLAGS_$(a)) -fopenmp")
	@for a in $(ARM_HOSTILE_TARGETS); do case $$a in v8) c=$(ARM_CPU_v8);; dotprod) c=$(ARM_CPU_dotprod);; esac; \
	  $(ARM_QEMU) -cpu $$c $(B)/arm/$$a/ck --version; done
	@$(MAKE) --no-print-directory bench-arm >$(B)/arm/bench-smoke.txt 2>&1 || { cat $(B)/arm/bench-smoke.txt; echo "test-arm: bench smoke run failed"; exit 1; }
	@echo "bench-kernels, bench-quant --smoke: ran under qemu on $(ARM_TARGETS) (output in $(B)/arm/bench-smoke.txt; emulated: not speed)"

# Under qemu a benchmark only shows that the code runs: its numbers are not the speed of any Arm
# machine. BENCH_ARM_ARGS=--quick runs the real sizes (minutes per target under emulation).
BENCH_ARM_ARGS ?= --smoke
bench-arm: $(ARM_BENCHES) ## bench-kernels and bench-quant built for AArch64, run under qemu (--smoke sizes): a smoke test, NOT speed
	@echo "bench-arm: the numbers below are measured under qemu-aarch64 emulation: they are NOT the speed of an Arm CPU"
	@for a in $(ARM_TARGETS); do case $$a in v8) c=$(ARM_CPU_v8);; dotprod) c=$(ARM_CPU_dotprod);; esac; \
	  for b in bench_kernels bench_quant; do echo "== $$b $$a (qemu -cpu $$c, emulated) =="; \
	    OMP_NUM_THREADS=1 $(ARM_QEMU) -cpu $$c $(B)/arm/$${b}_$$a $(BENCH_ARM_ARGS) || exit 1; done; done

# ---- benchmarks (numbers, never asserted) -----------------------------------------------
$(B)/bench_kernels: tests/bench_kernels.c examples/ck_peak.h $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lm

bench-kernels: $(B)/bench_kernels ## GFLOP/s of matmul and attention, forward and backward, and of the quantized input gradient (ck_matmul_backward_q), beside the measured FMA peak
	./$(B)/bench_kernels

$(B)/bench_quant: tests/bench_quant.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lm

bench-quant: $(B)/bench_quant ## GB/s of dequantize and GFLOP/s of the quantized matmul (exact, fast) per GGUF type, T=1 and T=64
	./$(B)/bench_quant

# ---- training --------------------------------------------------------------------------------
check-model: tools ## GGUF=FILE: run the model with activation capture against its PyTorch reference (ck check): the first op that differs, or "all N ops agree"
	@test -n "$(GGUF)" || { echo "check-model: give the model, make check-model GGUF=path/to/model.gguf"; exit 2; }
	./$(B)/ck check "$(GGUF)"

parity-long: deps tools $(B)/mkmodel ## 1,000 training steps of a small GPT-2, C vs PyTorch: prints the loss curve, fails beyond 1e-3 relative
	$(PYTHON) tests/parity_long.py

# LLMC=/path/to/llm.c (a checkout of github.com/karpathy/llm.c): its train_gpt2.c is compiled and run
# beside ckernel. PyTorch is an anchor only with OpenBLAS (Debian's torch calls libblas.so.3, the
# reference BLAS unless libopenblas0-pthread is installed): installed here if missing.
# BENCH_TRAIN_ARGS: e.g. "--steps 1 --rows side --threads 2" (tests/bench_train.py --help).
bench-train: deps deps-mpi tools $(B)/bench_kernels $(B)/bench_allreduce ## trainer ms/step beside llm.c (LLMC=path) and PyTorch on the same weights and batch (GPT-2 124M-shaped, B=4 T=64, 2 and 1 threads); MFU at B=8 T=256; the demo; LoRA; tokens/s of 1 and 2 MPI ranks and the all-reduce's cost
	@dpkg -s libopenblas0-pthread >/dev/null 2>&1 || { echo "installing libopenblas0-pthread (PyTorch's BLAS for the bench)"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends libopenblas0-pthread >/dev/null; }
	LLMC="$(LLMC)" $(PYTHON) tests/bench_train.py $(BENCH_TRAIN_ARGS)

$(B)/bench_allreduce: tests/bench_allreduce.c examples/train_mpi.h examples/train_state.h | $(B) deps-mpi
	mpicc $(WARN) -Wno-unused-function $(CFLAGS) $(ARCH) -DCK_MPI -I. $< -o $@

$(B)/bench_membw: tests/bench_membw.c examples/ck_peak.h $(HEADERS) | $(B)
	$(CC) -std=c99 -O3 -I. $(ARCH) $(OPENMP) $< -o $@

bench: tools $(B)/mkmodel $(B)/bench_membw ## prefill/decode tokens/s and peak RSS at 2 and 1 threads: SmolLM-135M- and Qwen2-0.5B-shaped models, F32/F16/BF16/Q8_0/Q4_0/Q4_K_M/Q6_K; with LLAMA_BENCH=/path/to/llama-bench, llama.cpp on the same files and the ratio; BENCH_ARGS="--rounds 3" for per-row ratio ranges
	$(PYTHON) tests/bench_models.py $(BENCH_ARGS)

FUZZ_SECONDS ?= 60
fuzz: | $(B) ## libFuzzer on the GGUF reader (clang, ASan+UBSan), FUZZ_SECONDS=60; seeds from test_gguf --seeds
	@command -v clang >/dev/null || { echo "fuzz: needs clang (apt-get install clang)"; exit 1; }
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. tests/fuzz_gguf.c -o $(B)/fuzz_gguf -lm
	$(CC) $(ALL_CFLAGS) tests/test_gguf.c -o $(B)/test_gguf -lm
	@rm -rf $(B)/fuzz_corpus && mkdir -p $(B)/fuzz_corpus $(B)/fuzz_seeds
	./$(B)/test_gguf --seeds $(B)/fuzz_seeds >/dev/null
	./$(B)/fuzz_gguf -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 $(B)/fuzz_corpus $(B)/fuzz_seeds

fuzz-train-state: | $(B) ## libFuzzer on train.c's state reader (examples/train_state.h; clang, ASan+UBSan), FUZZ_SECONDS=60; seeds: valid states and variants
	@command -v clang >/dev/null || { echo "fuzz-train-state: needs clang (apt-get install clang)"; exit 1; }
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. tests/fuzz_train_state.c -o $(B)/fuzz_train_state -lm
	$(CC) $(WARN) -O1 -I. -DFUZZ_SEEDS_MAIN tests/fuzz_train_state.c -o $(B)/fuzz_train_state_seeds -lm
	@rm -rf $(B)/fuzz_ts_corpus $(B)/fuzz_ts_seeds && mkdir -p $(B)/fuzz_ts_corpus $(B)/fuzz_ts_seeds
	./$(B)/fuzz_train_state_seeds $(B)/fuzz_ts_seeds
	./$(B)/fuzz_train_state -max_total_time=$(FUZZ_SECONDS) -max_len=1024 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$(B)/fuzz_ts_ $(B)/fuzz_ts_corpus $(B)/fuzz_ts_seeds

$(B)/bench_tokenizer: tests/bench_tokenizer.c $(HEADERS) | $(B)
	$(CC) $(WARN) $(CFLAGS) $(ARCH) -I. $< -o $@ -lm

bench-tokenizer: $(B)/bench_tokenizer ## tokenizer MB/s and tokens/s, single thread: English 200/3000/15000 chars and multilingual, per vocabulary
	./$(B)/bench_tokenizer tests/data

fuzz-tokenizer: | $(B) ## libFuzzer on tokenizer encode/decode over every test vocabulary (clang, ASan+UBSan), FUZZ_SECONDS=60
	@command -v clang >/dev/null || { echo "fuzz-tokenizer: needs clang (apt-get install clang)"; exit 1; }
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. tests/fuzz_tokenizer.c -o $(B)/fuzz_tokenizer -lm
	@mkdir -p $(B)/fuzz_tok_corpus
	./$(B)/fuzz_tokenizer -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 $(B)/fuzz_tok_corpus

fuzz-ckgen: | $(B) ## libFuzzer on ckgen (binder, lowering, plan, emitters) over fuzzed GGUF metadata (clang, ASan+UBSan), FUZZ_SECONDS=60
	@command -v clang >/dev/null || { echo "fuzz-ckgen: needs clang (apt-get install clang)"; exit 1; }
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. tests/fuzz_ckgen.c -o $(B)/fuzz_ckgen -lm
	@mkdir -p $(B)/fuzz_ckgen_corpus
	ASAN_OPTIONS=detect_leaks=0 ./$(B)/fuzz_ckgen -max_total_time=$(FUZZ_SECONDS) -max_len=512 -rss_limit_mb=2048 -print_final_stats=1 $(B)/fuzz_ckgen_corpus

fuzz-run-options: | $(B) ## libFuzzer on run's command line: run_parse_options, run_check_context, parse_tokens, ck_sample (clang, ASan+UBSan), FUZZ_SECONDS=60
	@command -v clang >/dev/null || { echo "fuzz-run-options: needs clang (apt-get install clang)"; exit 1; }
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. tests/fuzz_run_options.c -o $(B)/fuzz_run_options -lm
	@mkdir -p $(B)/fuzz_run_corpus
	./$(B)/fuzz_run_options -max_total_time=$(FUZZ_SECONDS) -max_len=512 -rss_limit_mb=2048 -print_final_stats=1 \
	  -dict=tests/fuzz_run_options.dict $(B)/fuzz_run_corpus tests/data/fuzz_run_options

DEMO_GGUF ?= examples/demo/shakespeare.gguf
DEMO_PROMPT ?= ROMEO:
demo: $(B)/ck $(B)/ckgen ## generate Shakespeare-like text from the shipped model (examples/demo, trained with this project)
	@./$(B)/ck run $(DEMO_GGUF) -p "$(DEMO_PROMPT)" -n 240 --temp 0.8 --top-k 40 --seed 1

clean: ## remove build/
	rm -rf $(B)
