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

HEADERS = ckernel.h
GEN_HEADERS = ckernel_gen.h $(wildcard models/*.h)
EXAMPLES = $(B)/mlp_train
TOOLS = $(B)/ck $(B)/ckgen
DEB_PKGS = python3-torch python3-numpy python3-pytest

.PHONY: all help examples tools test test-header test-c test-asan test-py deps bench-kernels bench-quant bench-tokenizer fuzz fuzz-tokenizer demo clean

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
$(B)/ck: examples/ck.c $(HEADERS) | $(B)
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
$(B)/test_kernels: tests/test_kernels.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lm
$(B)/test_kernels_scalar: tests/test_kernels.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) -DCK_NO_SIMD $< -o $@ -lm
$(B)/test_kernels_asan: tests/test_kernels.c $(HEADERS) | $(B)
	$(CC) $(WARN) $(SAN) $(ARCH) -I. $< -o $@ -lm
$(B)/test_quant: tests/test_quant.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lm
$(B)/test_quant_scalar: tests/test_quant.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) -DCK_NO_SIMD $< -o $@ -lm
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

test-header: | $(B) ## the header compiles warning-free: gcc, clang, -std=c99 -Wpedantic -Werror, scalar and SIMD, and as C++
	@printf '#define CK_IMPLEMENTATION\n#include "ckernel.h"\n' > $(B)/tu.c
	@for cc in gcc clang; do command -v $$cc >/dev/null || { echo "test-header: $$cc not found"; exit 1; }; \
	  for f in "-DCK_NO_SIMD" "$(ARCH)" "$(ARCH) -fopenmp"; do \
	    $$cc $(WARN) -Werror -O2 $$f -I. -c $(B)/tu.c -o $(B)/tu.o || { echo "FAIL: $$cc $$f"; exit 1; }; done; done
	@for cxx in g++ clang++; do command -v $$cxx >/dev/null || { echo "test-header: $$cxx not found"; exit 1; }; \
	  $$cxx -x c++ -std=c++11 -Wall -Wextra -Wpedantic -Werror -O2 $(ARCH) -I. -c $(B)/tu.c -o $(B)/tu.o || { echo "FAIL: $$cxx"; exit 1; }; done
	@printf '#include "ckernel_gen.h"\nint ck_gen_ops = CK_OP_COUNT;\n' > $(B)/gen.c
	@gcc $(WARN) -Werror -c $(B)/gen.c -I. -o $(B)/gen.o && clang $(WARN) -Werror -c $(B)/gen.c -I. -o $(B)/gen.o
	@echo "header: clean under gcc and clang (C99, scalar and $(ARCH), with and without OpenMP) and g++/clang++ (C++11)"

test-c: $(B)/test_kernels $(B)/test_kernels_scalar $(B)/test_quant $(B)/test_quant_scalar $(B)/test_gguf $(B)/test_tokenizer examples tools ## C tests: SIMD vs scalar, thread-count determinism, edge cases, weight formats, GGUF files, tokenizer reference vectors
	./$(B)/test_kernels
	./$(B)/test_kernels_scalar
	./$(B)/test_quant
	./$(B)/test_quant_scalar
	./$(B)/test_gguf tests/data
	./$(B)/test_tokenizer tests/data

test-asan: $(B)/test_kernels_asan $(B)/test_quant_asan $(B)/test_gguf_asan $(B)/test_tokenizer_asan ## C tests under AddressSanitizer + UndefinedBehaviorSanitizer (incl. every hostile GGUF and tokenizer case)
	./$(B)/test_kernels_asan
	./$(B)/test_quant_asan
	./$(B)/test_gguf_asan tests/data
	./$(B)/test_tokenizer_asan tests/data

test-py: deps $(B)/libckernel.so $(B)/libckernel_scalar.so $(TOOLS) $(B)/mkmodel ## PyTorch parity tests of every kernel, forward and backward
	$(PYTHON) -m pytest -p no:cacheprovider -q tests

test: deps test-header test-c test-asan test-py ## everything (installs Debian's torch, numpy, pytest if missing); ends with pytest's summary

deps: ## install python3-torch, python3-numpy, python3-pytest with apt-get if missing
	@$(PYTHON) -c "import torch, numpy, pytest" 2>/dev/null || { \
	  echo "installing $(DEB_PKGS) (Debian packages)"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(DEB_PKGS) >/dev/null; \
	  $(PYTHON) -c "import torch, numpy, pytest" || { echo "deps: $(PYTHON) still cannot import torch, numpy, pytest"; exit 1; }; }
	@command -v clang >/dev/null || { SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  echo "installing clang (header test)"; DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends clang >/dev/null; }

# ---- benchmarks (numbers, never asserted) -----------------------------------------------
$(B)/bench_kernels: tests/bench_kernels.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lm

bench-kernels: $(B)/bench_kernels ## GFLOP/s of matmul and attention, forward and backward, beside the measured FMA peak
	./$(B)/bench_kernels

$(B)/bench_quant: tests/bench_quant.c $(HEADERS) | $(B)
	$(CC) $(ALL_CFLAGS) $< -o $@ -lm

bench-quant: $(B)/bench_quant ## GB/s of dequantize and GFLOP/s of the quantized matmul (exact, fast) per GGUF type, T=1 and T=64
	./$(B)/bench_quant

FUZZ_SECONDS ?= 60
fuzz: | $(B) ## libFuzzer on the GGUF reader (clang, ASan+UBSan), FUZZ_SECONDS=60; seeds from test_gguf --seeds
	@command -v clang >/dev/null || { echo "fuzz: needs clang (apt-get install clang)"; exit 1; }
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. tests/fuzz_gguf.c -o $(B)/fuzz_gguf -lm
	$(CC) $(ALL_CFLAGS) tests/test_gguf.c -o $(B)/test_gguf -lm
	@rm -rf $(B)/fuzz_corpus && mkdir -p $(B)/fuzz_corpus $(B)/fuzz_seeds
	./$(B)/test_gguf --seeds $(B)/fuzz_seeds >/dev/null
	./$(B)/fuzz_gguf -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 $(B)/fuzz_corpus $(B)/fuzz_seeds

$(B)/bench_tokenizer: tests/bench_tokenizer.c $(HEADERS) | $(B)
	$(CC) $(WARN) $(CFLAGS) $(ARCH) -I. $< -o $@ -lm

bench-tokenizer: $(B)/bench_tokenizer ## tokenizer MB/s and tokens/s, single thread: English 200/3000/15000 chars and multilingual, per vocabulary
	./$(B)/bench_tokenizer tests/data

fuzz-tokenizer: | $(B) ## libFuzzer on tokenizer encode/decode over every test vocabulary (clang, ASan+UBSan), FUZZ_SECONDS=60
	@command -v clang >/dev/null || { echo "fuzz-tokenizer: needs clang (apt-get install clang)"; exit 1; }
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -I. tests/fuzz_tokenizer.c -o $(B)/fuzz_tokenizer -lm
	@mkdir -p $(B)/fuzz_tok_corpus
	./$(B)/fuzz_tokenizer -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 $(B)/fuzz_tok_corpus

demo: ## generate text from the shipped model (arrives with the training issue)
	@echo "make demo: there is no shipped model yet: it is built and trained in issue 7 (training + demo model)."
	@echo "What works today: 'make test' (kernel parity) and 'make bench-kernels'."
	@exit 1

clean: ## remove build/
	rm -rf $(B)
