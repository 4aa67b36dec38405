# mlrun - build, demo, test, install. `make demo` and `make test` install the
# Debian packages they need first, so a fresh clone needs nothing else.

PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= gcc
# Portable by default: the binaries run on any x86-64 from 2009 on (x86-64-v2:
# SSE4.2, POPCNT); the few hot kernels that gain from AVX2/AVX-512 pick their
# variant at run time (ML_HOT in runtime/dispatch.h). Other CPUs
# (aarch64, ...) get the compiler's generic target. `make OPT="-O3
# -march=native"` builds for this machine only.
ARCH     := $(shell $(CC) -dumpmachine 2>/dev/null)
ifneq ($(filter x86_64-%,$(ARCH)),)
OPT      ?= -O3 -march=x86-64-v2 -mtune=generic
else
OPT      ?= -O3
endif
SAN      ?=
# The one list of Debian packages (`make deps` installs the missing ones):
#   build: lua5.4 liblua5.4-dev libopenblas-openmp-dev libpng-dev zlib1g-dev
#          pkg-config (libopenmpi-dev for the MPI plugin, WITH_MPI below)
#          libjpeg-dev libmicrohttpd-dev libcjson-dev (mlrun serve)
#   run:   libedit2 (the REPL's line editor, loaded with dlopen when a REPL
#          opens: only the runtime library, no headers), openmpi-bin (mpirun)
#   test:  lua-busted, tmux (REPL spec), librsvg2-bin (plot spec), clang and
#          libclang-rt-14-dev (libFuzzer, for the fuzz smoke test), qemu-user
#          (the suite's portability check), luarocks (the rockspec check),
#          curl and chromium (the serve specs)
DEBIAN_PACKAGES = lua5.4 liblua5.4-dev libopenblas-openmp-dev lua-busted libedit2 libjpeg-dev \
                  libmicrohttpd-dev libcjson-dev curl chromium \
                  libpng-dev zlib1g-dev pkg-config libopenmpi-dev openmpi-bin tmux librsvg2-bin \
                  clang libclang-rt-14-dev qemu-user luarocks

# The version, from its one place (ML_VERSION in runtime/ml.h): the SONAME
# (libmlrun.so.MAJOR), the library's file name, mlrun.pc, mlrun.1; the
# rockspec's name and version are checked against it by the suite.
VERSION := $(shell sed -n 's/^\#define ML_VERSION "\([^"]*\)".*/\1/p' runtime/ml.h)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))
SONAME   = libmlrun.so.$(SOMAJOR)
SOFILE   = libmlrun.so.$(VERSION)

PKGS     = lua5.4 openblas libpng libjpeg zlib libmicrohttpd libcjson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# `override` keeps these when CFLAGS/LDFLAGS come from the command line
# (`make CFLAGS=-g`, luarocks): they are appended to, not replaced.
# -fvisibility=hidden: only what is marked MLRUN_API (mlrun.h) or luaopen_ml
# leaves the shared objects; the version scripts below pick per object.
override CFLAGS += -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -fPIC -fopenmp -fvisibility=hidden \
                   $(OPT) $(SAN) $(PKG_CFLAGS) $(if $(LUA_INCDIR),-I$(LUA_INCDIR)) -I$(BUILD) -Ibindings
override LDFLAGS += -fopenmp $(SAN)
LIBS      = $(PKG_LIBS) -lpthread -ldl -lm

# MPI is optional: the plugin ml_mpi.so is built when OpenMPI's headers are
# there (auto), always (yes: fails without them) or never (no). Without it
# ml.dist runs single-process and, under mpirun, says how to get MPI.
WITH_MPI ?= auto
HAVE_MPI := $(shell pkg-config --exists ompi-c 2>/dev/null && echo yes)
ifeq ($(WITH_MPI),yes)
ifneq ($(HAVE_MPI),yes)
$(error WITH_MPI=yes but OpenMPI is missing (pkg-config ompi-c): apt-get install libopenmpi-dev)
endif
endif
MPI_PLUGIN := $(if $(filter yes,$(WITH_MPI))$(filter auto,$(WITH_MPI)),$(if $(HAVE_MPI),$(BUILD)/ml_mpi.so))

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

.PHONY: all deps demo test asan bench install uninstall clean check-layout rock install-rock \
        check-portable check-aarch64

all: $(BUILD)/mlrun $(BUILD)/ml.so $(BUILD)/libmlrun.a $(BUILD)/libmlrun.so $(BUILD)/mlrun.pc $(MPI_PLUGIN)

# Installs the Debian packages that are missing (as root, or through sudo)
# and says which; dpkg -s decides what is installed.
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  echo "make deps: installed$$missing"; \
	else echo "make deps: the $(words $(DEBIAN_PACKAGES)) Debian packages are installed"; fi

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

# The shared library: libmlrun.so.VERSION with SONAME libmlrun.so.MAJOR and
# the usual links (.so.MAJOR for the loader, .so for the linker). Its version
# script exports the mlrun_* API only (tagged MLRUN_MAJOR): luaopen_ml, the
# one other default-visibility symbol, is for ml.so.
$(BUILD)/$(SOFILE): $(LIB_OBJ)
	printf 'MLRUN_%s {\n  global: mlrun_*;\n  local: *;\n};\n' $(SOMAJOR) > $(BUILD)/libmlrun.map
	$(CC) -shared $(LDFLAGS) -Wl,-soname,$(SONAME) -Wl,--version-script=$(BUILD)/libmlrun.map \
	  -o $@ $^ $(LIBS)

$(BUILD)/libmlrun.so: $(BUILD)/$(SOFILE)
	ln -sf $(SOFILE) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

# The Lua C module: same objects, Lua symbols resolved by the host; exports
# luaopen_ml only.
$(BUILD)/ml.so: $(LIB_OBJ)
	printf '{\n  global: luaopen_ml;\n  local: *;\n};\n' > $(BUILD)/ml.map
	$(CC) -shared $(LDFLAGS) -Wl,--version-script=$(BUILD)/ml.map -o $@ $^ $(filter-out -llua5.4,$(LIBS))

$(BUILD)/mlrun: $(BUILD)/bindings/main.o $(BUILD)/libmlrun.a
	$(CC) $(LDFLAGS) -no-pie -o $@ $(BUILD)/bindings/main.o $(BUILD)/libmlrun.a $(MLRUN_LIBS)

# MPI lives in a plugin loaded only under mpirun, so plain runs never pay
# libmpi's start-up cost (runtime/dist/dist.h).
$(BUILD)/ml_mpi.so: runtime/dist/mpi_plugin.c runtime/dist/dist.h
	@mkdir -p $(BUILD)
	$(CC) -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -fPIC -shared $(OPT) $(SAN) $(shell pkg-config --cflags ompi-c) -o $@ $< $(shell pkg-config --libs ompi-c)

$(BUILD)/mlrun.pc: Makefile runtime/ml.h
	@mkdir -p $(BUILD)
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: mlrun\nDescription: machine-learning runtime embedding Lua 5.4\nVersion: %s\nRequires.private: lua5.4 openblas libpng libjpeg zlib\nCflags: -I$${includedir}/mlrun\nLibs: -L$${libdir} -lmlrun\nLibs.private: -lmicrohttpd -lcjson -lpthread -fopenmp -ldl -lm\n' \
	  "$(PREFIX)" "$(VERSION)" > $@

# Data folders ml.datasets looks in (after $$MLRUN_DATA): installed, then this tree.
$(BUILD)/bindings/lio.o: CFLAGS += -DMLRUN_DATA_INSTALLED='"$(PREFIX)/share/mlrun/data"' -DMLRUN_DATA_SOURCE='"$(CURDIR)/data"'
$(BUILD)/bindings/lio.o: Makefile

demo: deps
	$(MAKE) all
	sh scripts/demo.sh $(BUILD)/mlrun

test: deps
	$(MAKE) all
	sh tests/run.sh $(BUILD)

# The layering rules (docs/contributing.md): runtime/ sees no Lua (headers or
# symbols), no file includes a layer above its own, every binding family is
# registered once. tests/run.sh runs the same script first.
check-layout: all
	sh tests/check_layout.sh $(BUILD)

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

# make install [PREFIX=/usr/local] [DESTDIR=...]. The public C API is
# mlrun.h alone (runtime/ml.h is the engine's internal header: its structs
# change between releases and it is not installed).
INSTALL_DIRS = bin lib lib/pkgconfig lib/lua/5.4 include/mlrun share/mlrun/data \
               share/man/man1 share/bash-completion/completions share/doc/mlrun \
               $(if $(MPI_PLUGIN),lib/mlrun)
INSTALL_DOCS = LICENSE README.md CHANGELOG.md
I = $(DESTDIR)$(PREFIX)
install: all
	for d in $(INSTALL_DIRS); do install -d $(I)/$$d || exit 1; done
	install -m 755 $(BUILD)/mlrun $(I)/bin/mlrun
	install -m 644 $(BUILD)/libmlrun.a $(I)/lib/libmlrun.a
	install -m 755 $(BUILD)/$(SOFILE) $(I)/lib/$(SOFILE)
	ln -sf $(SOFILE) $(I)/lib/$(SONAME)
	ln -sf $(SONAME) $(I)/lib/libmlrun.so
	install -m 755 $(BUILD)/ml.so $(I)/lib/lua/5.4/ml.so
	$(if $(MPI_PLUGIN),install -m 755 $(MPI_PLUGIN) $(I)/lib/mlrun/ml_mpi.so)
	install -m 644 bindings/mlrun.h $(I)/include/mlrun/mlrun.h
	sed 's#^prefix=.*#prefix=$(PREFIX)#' $(BUILD)/mlrun.pc > $(I)/lib/pkgconfig/mlrun.pc
	cp -R data/classic data/mnist-10k $(I)/share/mlrun/data/
	sed 's/@VERSION@/$(VERSION)/' docs/mlrun.1 > $(I)/share/man/man1/mlrun.1
	install -m 644 docs/mlrun-completion.bash $(I)/share/bash-completion/completions/mlrun
	install -m 644 $(INSTALL_DOCS) $(I)/share/doc/mlrun/

# Removes what install put there, then the folders it leaves empty (never a
# folder that holds anything else).
uninstall:
	rm -f $(I)/bin/mlrun $(I)/lib/libmlrun.a $(I)/lib/$(SOFILE) $(I)/lib/$(SONAME) \
	  $(I)/lib/libmlrun.so $(I)/lib/lua/5.4/ml.so $(I)/lib/mlrun/ml_mpi.so \
	  $(I)/include/mlrun/mlrun.h $(I)/lib/pkgconfig/mlrun.pc $(I)/share/man/man1/mlrun.1 \
	  $(I)/share/bash-completion/completions/mlrun $(INSTALL_DOCS:%=$(I)/share/doc/mlrun/%)
	rm -rf $(I)/share/mlrun/data/classic $(I)/share/mlrun/data/mnist-10k
	for d in lib/mlrun lib/lua/5.4 lib/lua lib/pkgconfig include/mlrun include share/mlrun/data \
	  share/mlrun share/man/man1 share/man share/bash-completion/completions share/bash-completion \
	  share/doc/mlrun share/doc share bin lib; do \
	  [ -d $(I)/$$d ] && rmdir $(I)/$$d 2>/dev/null; done; true

# `luarocks make` (mlrun-VERSION-1.rockspec) builds the Lua module alone in
# its own folder and installs it into the rock's LIBDIR.
ROCK_LIBDIR ?= $(error ROCK_LIBDIR is set by luarocks (build.install_variables))
rock: $(BUILD)/ml.so $(MPI_PLUGIN)
install-rock: rock
	install -d $(ROCK_LIBDIR)
	install -m 755 $(BUILD)/ml.so $(ROCK_LIBDIR)/ml.so
	$(if $(MPI_PLUGIN),install -m 755 $(MPI_PLUGIN) $(ROCK_LIBDIR)/ml_mpi.so)

# The default build under emulated older CPUs (qemu-user, slow: not part of
# make test, which runs a smoke test of it): tests/portable.sh.
check-portable: all
	sh tests/portable.sh $(BUILD)

# aarch64: every runtime and binding file compiled (not linked) with Debian's
# cross compiler (gcc-aarch64-linux-gnu, not in DEBIAN_PACKAGES: only this
# check needs it). The host's OpenBLAS, libpng and zlib headers serve (they
# are the same on arm64); Debian's luaconf.h wants its per-architecture
# lua5.4-deb-multiarch.h, written here for aarch64.
A64_CC    ?= aarch64-linux-gnu-gcc
A64_BUILD ?= build-aarch64
check-aarch64:
	@command -v $(A64_CC) >/dev/null || { echo "check-aarch64: $(A64_CC) is missing: apt-get install gcc-aarch64-linux-gnu"; exit 1; }
	@mkdir -p $(A64_BUILD)
	@printf '#define DEB_HOST_MULTIARCH "aarch64-linux-gnu"\n' > $(A64_BUILD)/lua5.4-deb-multiarch.h
	lua5.4 bindings/embed_stdlib.lua $(A64_BUILD)/stdlib_embed.c $(STDLIB_LUA)
	@n=0; for f in $(RUNTIME_SRC) $(BINDINGS_SRC) bindings/main.c $(A64_BUILD)/stdlib_embed.c; do \
	  o=$(A64_BUILD)/$$(echo $$f | tr / _).o; \
	  $(A64_CC) -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -O3 -fPIC -fopenmp -fvisibility=hidden \
	    -I$(A64_BUILD) $(PKG_CFLAGS) -Ibindings -idirafter /usr/include -c $$f -o $$o || exit 1; \
	  n=$$((n + 1)); done; \
	echo "check-aarch64: $$n files compiled for aarch64 ($$(file -b $$o | cut -d, -f1-2))"

clean:
	rm -rf build build-asan build-rock build-aarch64

include tests/fuzz/fuzz.mk
