# mlrun - build, demo, test, install. `make demo` and `make test` install the
# Debian packages they need first, so a fresh clone needs nothing else.

PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= gcc
# Portable by default: the binaries run on any x86-64 from 2009 on (x86-64-v2:
# SSE4.2, POPCNT); the few hot kernels that gain from AVX2/AVX-512 pick their
# variant at run time (ML_DISPATCH in runtime/dispatch.h). Other CPUs
# (aarch64, ...) get the compiler's generic target. `make OPT="-O3
# -march=native"` builds for this machine only.
ARCH     := $(shell $(CC) -dumpmachine 2>/dev/null)
ifneq ($(filter x86_64-%,$(ARCH)),)
OPT      ?= -O3 -march=x86-64-v2 -mtune=generic
else
OPT      ?= -O3
endif
SAN      ?=
DEBIAN_PACKAGES = lua5.4 liblua5.4-dev libopenblas-openmp-dev lua-busted libedit-dev libjpeg-dev \
                  libmicrohttpd-dev libcjson-dev curl chromium \
                  libpng-dev zlib1g-dev pkg-config libopenmpi-dev openmpi-bin tmux librsvg2-bin

# libedit (the REPL's line editor) is not linked: repl.c loads it with dlopen
# when a REPL starts, so scripts and embedders never pay for it.
PKGS     = lua5.4 openblas libpng libjpeg zlib libmicrohttpd libcjson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   += -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -fPIC -fopenmp $(OPT) $(SAN) $(PKG_CFLAGS) -I$(BUILD) -Ibindings
LDFLAGS  += -fopenmp $(SAN)
LIBS      = $(PKG_LIBS) -lpthread -ldl -lm

# The mlrun executable links OpenBLAS statically when libopenblas.a is there:
# the shared library's ~10k symbol relocations cost several ms at every start.
# It is linked -no-pie for the same reason (no relocations of BLAS's tables).
# Both builds use the same OpenMP runtime (libgomp). STATIC_BLAS=0 links it shared.
STATIC_BLAS ?= 1
BLAS_A   := $(shell pkg-config --variable=libdir openblas 2>/dev/null)libopenblas.a
# OpenBLAS's LAPACK is Fortran: its runtime is linked statically as well when
# the archives are there (loading libgfortran + libquadmath costs ~3 ms).
GFORTRAN_A := $(shell $(CC) -print-file-name=libgfortran.a)
QUADMATH_A := $(shell $(CC) -print-file-name=libquadmath.a)
GFORTRAN := $(if $(and $(filter /%,$(GFORTRAN_A)),$(filter /%,$(QUADMATH_A))),$(GFORTRAN_A) $(QUADMATH_A),$(if $(filter /%,$(shell $(CC) -print-file-name=libgfortran.so)),-lgfortran))
ifeq ($(STATIC_BLAS)$(wildcard $(BLAS_A)),1$(BLAS_A))
MLRUN_LIBS = $(filter-out -lopenblas,$(LIBS)) $(BLAS_A) -Wl,--as-needed $(GFORTRAN) -Wl,--no-as-needed
else
MLRUN_LIBS = $(LIBS)
endif

RUNTIME_SRC  = $(sort $(filter-out runtime/dist/mpi_plugin.c,$(wildcard runtime/*.c runtime/*/*.c)))
BINDINGS_SRC = $(sort $(filter-out bindings/main.c,$(wildcard bindings/*.c)))
STDLIB_LUA   = $(sort $(shell find stdlib -name '*.lua' 2>/dev/null))
RUNTIME_OBJ  = $(RUNTIME_SRC:%.c=$(BUILD)/%.o)
BINDINGS_OBJ = $(BINDINGS_SRC:%.c=$(BUILD)/%.o) $(BUILD)/stdlib_embed.o
LIB_OBJ      = $(RUNTIME_OBJ) $(BINDINGS_OBJ)

.PHONY: all deps demo test asan bench install clean check-layout

all: $(BUILD)/mlrun $(BUILD)/ml.so $(BUILD)/libmlrun.a $(BUILD)/libmlrun.so $(BUILD)/mlrun.pc $(BUILD)/ml_mpi.so

# Installs the Debian packages that are missing (as root, or through sudo).
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

# Objects depend on the compiler and its flags (BUILD/.cflags is rewritten
# only when they change), so `make OPT=...` in a used folder rebuilds it.
CFLAGS_STAMP := $(BUILD)/.cflags
$(shell mkdir -p $(BUILD); echo '$(CC) $(CFLAGS)' | cmp -s - $(CFLAGS_STAMP) 2>/dev/null || echo '$(CC) $(CFLAGS)' > $(CFLAGS_STAMP))

$(BUILD)/%.o: %.c $(wildcard runtime/*.h runtime/*/*.h bindings/*.h) $(CFLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/stdlib_embed.c: bindings/embed_stdlib.lua $(STDLIB_LUA)
	@mkdir -p $(BUILD)
	lua5.4 bindings/embed_stdlib.lua $@ $(STDLIB_LUA)

$(BUILD)/stdlib_embed.o: $(BUILD)/stdlib_embed.c bindings/stdlib_embed.h $(CFLAGS_STAMP)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libmlrun.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libmlrun.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LIBS)

# The Lua C module: same objects, Lua symbols resolved by the host.
$(BUILD)/ml.so: $(LIB_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(filter-out -llua5.4,$(LIBS))

$(BUILD)/mlrun: $(BUILD)/bindings/main.o $(BUILD)/libmlrun.a
	$(CC) $(LDFLAGS) -no-pie -o $@ $(BUILD)/bindings/main.o $(BUILD)/libmlrun.a $(MLRUN_LIBS)

# MPI lives in a plugin loaded only under mpirun, so plain runs never pay
# libmpi's start-up cost (runtime/dist/dist.h).
$(BUILD)/ml_mpi.so: runtime/dist/mpi_plugin.c runtime/dist/dist.h
	@mkdir -p $(BUILD)
	$(CC) -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -fPIC -shared $(OPT) $(SAN) $(shell pkg-config --cflags ompi-c) -o $@ $< $(shell pkg-config --libs ompi-c)

$(BUILD)/mlrun.pc: Makefile
	@mkdir -p $(BUILD)
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: mlrun\nDescription: machine-learning runtime embedding Lua 5.4\nVersion: %s\nRequires.private: lua5.4 openblas libpng libjpeg zlib\nCflags: -I$${includedir}/mlrun\nLibs: -L$${libdir} -lmlrun\nLibs.private: -lmicrohttpd -lcjson -lpthread -fopenmp -ldl -lm\n' \
	  "$(PREFIX)" "$$(sed -n 's/#define ML_VERSION "\(.*\)"/\1/p' runtime/ml.h)" > $@

# Data folders ml.datasets looks in (after $$MLRUN_DATA): installed, then this tree.
$(BUILD)/bindings/lio.o: CFLAGS += -DMLRUN_DATA_INSTALLED='"$(PREFIX)/share/mlrun/data"' -DMLRUN_DATA_SOURCE='"$(CURDIR)/data"'
$(BUILD)/bindings/lio.o: Makefile

demo: deps
	$(MAKE) all
	sh scripts/demo.sh $(BUILD)/mlrun

test: deps
	$(MAKE) all
	sh tests/run.sh $(BUILD)

ASAN_OPT = -O1 -g -fno-omit-frame-pointer
ASAN_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
# The whole suite and every script in scripts/ under AddressSanitizer +
# UndefinedBehaviorSanitizer; any report fails the target (UBSan is fatal).
# LeakSanitizer runs on the scripts (tests/asan_scripts.sh); the suite runs
# without it (its C test programs are not written to free everything at exit).
# Leaks are also checked with valgrind on the normal build (tests/valgrind.sh).
# A report exits with status 86, so a test that runs mlrun and expects it to
# fail with status 1 (bad input, bad flags) still notices a report.
# The crash corpus (tests/spec/crash_spec.lua, memory_limit_spec.lua,
# tests/embed/embed_misuse.c, tests/fuzz/regressions/) runs inside the suite;
# then ml.core is fuzzed with three fixed seeds (tests/fuzz/core_fuzz.lua).
UBSAN_ENV = UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86
asan: deps
	$(MAKE) BUILD=build-asan OPT="$(ASAN_OPT)" SAN="$(ASAN_SAN)" all
	ASAN_OPTIONS=detect_leaks=0:exitcode=86 $(UBSAN_ENV) OPT="$(ASAN_OPT)" SAN="$(ASAN_SAN)" sh tests/run.sh build-asan
	ASAN_OPTIONS=detect_leaks=1:exitcode=86 $(UBSAN_ENV) sh tests/asan_scripts.sh build-asan
	for seed in 1 2 3; do ASAN_OPTIONS=detect_leaks=0:exitcode=86 $(UBSAN_ENV) \
	  build-asan/mlrun tests/fuzz/core_fuzz.lua $$seed 20 build-asan/core_fuzz.log || \
	  { echo "core_fuzz seed $$seed failed after:"; tail -1 build-asan/core_fuzz.log; exit 1; }; done

bench: deps
	$(MAKE) all
	sh scripts/bench/run.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/mlrun \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/lua/5.4
	install -m 755 $(BUILD)/mlrun $(DESTDIR)$(PREFIX)/bin/mlrun
	install -m 644 $(BUILD)/libmlrun.a $(DESTDIR)$(PREFIX)/lib/libmlrun.a
	install -m 755 $(BUILD)/libmlrun.so $(DESTDIR)$(PREFIX)/lib/libmlrun.so
	install -m 755 $(BUILD)/ml.so $(DESTDIR)$(PREFIX)/lib/lua/5.4/ml.so
	install -d $(DESTDIR)$(PREFIX)/lib/mlrun
	install -m 755 $(BUILD)/ml_mpi.so $(DESTDIR)$(PREFIX)/lib/mlrun/ml_mpi.so
	install -m 644 runtime/ml.h $(DESTDIR)$(PREFIX)/include/mlrun/ml.h
	install -m 644 bindings/mlrun.h $(DESTDIR)$(PREFIX)/include/mlrun/mlrun.h
	sed 's#^prefix=.*#prefix=$(PREFIX)#' $(BUILD)/mlrun.pc > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mlrun.pc
	install -d $(DESTDIR)$(PREFIX)/share/mlrun/data
	cp -R data/classic data/mnist-10k $(DESTDIR)$(PREFIX)/share/mlrun/data/

clean:
	rm -rf build build-asan

include tests/fuzz/fuzz.mk
