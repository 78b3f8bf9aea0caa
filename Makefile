# pcan — one Makefile for the whole tree (GNU make).
#   make                 build bin/pcan
#   make test            build and run the suite (each test program in its own process, with a timeout)
#   make sanitize        the same suite under ASan+UBSan (build in build/san)
#   make deps            install the Debian packages that building and testing need (root)
#   make install PREFIX=/usr/local
# Switches: WERROR=1 (CI), DEBUG=1, SANITIZE=address,undefined, V=1.

# The one list of Debian packages for building and testing (later issues add to it).
DEPS_PKGS := openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools libopenblas-dev \
             libopenblas0-openmp libdnnl-dev libyaml-dev libjansson-dev libpng-dev \
             libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg pkg-config \
             valgrind slurm-wlm munge
# Python reference, converter and fixture maker (tools/ only; never needed by make test).
DEPS_TOOLS_PKGS := python3-torch python3-torchvision python3-opencv python3-h5py python3-numpy \
                   python3-yaml python3-scipy

PREFIX ?= /usr/local
B      ?= build
BIN    ?= bin

CC      := mpicc
PKGS    := hdf5-openmpi yaml-0.1 jansson libpng libavformat libavcodec libswscale libavutil
# OpenBLAS's OpenMP build, so that OpenBLAS and oneDNN share one OpenMP pool (ENV.md §10).
OPENBLAS_INC := /usr/include/x86_64-linux-gnu/openblas-pthread
OPENBLAS_LIB := /usr/lib/x86_64-linux-gnu/openblas-openmp

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith
ifeq ($(WERROR),1)
WARN += -Werror
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CPPFLAGS := -I. -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(PKG_CFLAGS) -I$(OPENBLAS_INC)
ifeq ($(DEBUG),1)
OPT := -O0 -g3
else
OPT := -O2 -g
endif
CFLAGS  := -std=c11 $(OPT) $(WARN) -fopenmp -MMD -MP
LDFLAGS :=
LDLIBS  := $(PKG_LIBS) -L$(OPENBLAS_LIB) -l:libopenblas.so.0 -Wl,-rpath,$(OPENBLAS_LIB) \
           -ldnnl -fopenmp -lpthread -lm
ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

LAYERS   := runtime shard merge cmd
LIB_SRC  := $(sort $(filter-out cmd/main.c,$(foreach d,$(LAYERS),$(wildcard $(d)/*.c))))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
MAIN_OBJ := $(B)/cmd/main.o
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)
TEST_COMMON_SRC := $(sort $(wildcard tests/common/*.c))
TEST_COMMON_OBJ := $(TEST_COMMON_SRC:%.c=$(B)/%.o)
PCAN     := $(BIN)/pcan
VERSION_H := $(B)/gen/version.h

.SECONDARY:
.PHONY: test-slurm valgrind all test sanitize bench bench-eval bench-scaling bench-ref demo check-build deps deps-tools clean install tests FORCE
all: $(PCAN)

$(B)/libpcan.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(PCAN): $(MAIN_OBJ) $(B)/libpcan.a
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The version string comes from git describe at build time; the header changes only when it does.
$(VERSION_H): FORCE
	@mkdir -p $(@D)
	@v=$$(git describe --tags --always --dirty 2>/dev/null || echo unknown); \
	 printf '#define PCAN_VERSION "%s"\n' "$$v" > $@.tmp; \
	 if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(B)/cmd/version.o: CPPFLAGS += -I$(B)/gen
$(B)/cmd/version.o: $(VERSION_H)

$(B)/tests/%: tests/%.c $(TEST_COMMON_OBJ) $(B)/libpcan.a
	@mkdir -p $(@D)
	@echo "  CC/LD   $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_COMMON_OBJ) $(B)/libpcan.a $(LDLIBS)

tests: $(PCAN) $(TEST_BIN)

test: tests
	@PCAN=$(abspath $(PCAN)) bash tests/run.sh $(B)/tests

sanitize:
	$(MAKE) B=build/san BIN=build/san/bin SANITIZE=address,undefined WERROR=$(WERROR) test

# Every single-process command on small inputs under valgrind memcheck (slow; not in make test).
valgrind: $(PCAN)
	PCAN=$(abspath $(PCAN)) bash tests/valgrind.sh

# The whole product on a fresh machine: deps, build, synthetic data, 2-rank run, metrics, render.
demo:
	bash tools/demo.sh

# Speed: per-stage timings of the engine (R50 at 1280x720 and the tiny model; see cmd/bench.c),
# then pcan eval's masks per second on a generated 1,000-video dataset (tools/bench_eval.c).
bench: $(PCAN) bench-eval
	$(PCAN) bench

bench-eval: $(PCAN) $(B)/tools/bench_eval
	$(B)/tools/bench_eval --pcan $(PCAN)

$(B)/tools/bench_eval: tools/bench_eval.c $(TEST_COMMON_OBJ) $(B)/libpcan.a
	@mkdir -p $(@D)
	@echo "  CC/LD   $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TEST_COMMON_OBJ) $(B)/libpcan.a $(LDLIBS)

# Issue 6's scaling figures (run at 1 vs 2 ranks, merge of 2,500-10,000 videos); a quiet machine.
bench-scaling: $(PCAN)
	PCAN=$(PCAN) bash tools/bench_scaling.sh

# The C engine next to the PyTorch reference and torchvision's backbone (needs make deps-tools).
bench-ref: $(PCAN)
	/usr/bin/python3 tools/bench_ref.py --pcan $(PCAN)

deps:
	@DEPS="$(DEPS_PKGS)" bash tools/deps.sh

# A live single-node Slurm under a temp folder (root; installs slurm-wlm/munge via make deps).
test-slurm: $(PCAN)
	@command -v slurmctld >/dev/null && command -v munged >/dev/null || $(MAKE) deps
	PCAN=$(abspath $(PCAN)) bash tests/slurm/run.sh

deps-tools:
	@DEPS="$(DEPS_TOOLS_PKGS)" bash tools/deps.sh

install: $(PCAN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(PCAN) $(DESTDIR)$(PREFIX)/bin/pcan
	install -d $(DESTDIR)$(PREFIX)/share/pcan/slurm
	install -m 644 slurm/*.sbatch $(DESTDIR)$(PREFIX)/share/pcan/slurm/

clean:
	rm -rf build bin

-include tools/tools.mk
-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_COMMON_OBJ:.o=.d) $(TEST_BIN:=.d)
