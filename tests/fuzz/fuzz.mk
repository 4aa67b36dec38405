# Fuzzing with libFuzzer (clang from Debian). Included by the Makefile.
#   make fuzz                 every target for FUZZ_TIME seconds (default 60)
#   make fuzz FUZZ_TIME=600   the long run (10 minutes a target)
#   make fuzz-smoke           a few seconds each (part of make test)
# The engine is rebuilt with clang + ASan/UBSan in build-fuzz/; OpenMP pragmas
# use libgomp as in the main build. Seeds live in tests/fuzz/corpus/<target>/;
# new inputs found go to build-fuzz/corpus/<target>/, crashes to
# build-fuzz/crashes/ (slow-unit reports are kept but are not findings); each
# finding is fixed and kept in
# tests/fuzz/regressions/<target>/, which every run replays first.

FUZZ_BUILD   ?= build-fuzz
FUZZ_TIME    ?= 60
FUZZ_SMOKE   ?= 3
FUZZ_CC      ?= clang
FUZZ_TARGETS  = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_CFLAGS   = -std=c11 -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer -fopenmp=libgomp \
                -fsanitize=address,undefined -fsanitize=fuzzer-no-link $(PKG_CFLAGS) \
                -I$(FUZZ_BUILD) -Ibindings -Iruntime
FUZZ_OBJ      = $(RUNTIME_SRC:%.c=$(FUZZ_BUILD)/%.o) $(BINDINGS_SRC:%.c=$(FUZZ_BUILD)/%.o) \
                $(FUZZ_BUILD)/stdlib_embed.o

.PHONY: fuzz fuzz-build fuzz-smoke
.SECONDARY: $(FUZZ_OBJ) $(FUZZ_BUILD)/stdlib_embed.c

$(FUZZ_BUILD)/%.o: %.c $(wildcard runtime/*.h runtime/*/*.h bindings/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/stdlib_embed.c: bindings/embed_stdlib.lua $(STDLIB_LUA)
	@mkdir -p $(FUZZ_BUILD)
	lua5.4 bindings/embed_stdlib.lua $@ $(STDLIB_LUA)

$(FUZZ_BUILD)/stdlib_embed.o: $(FUZZ_BUILD)/stdlib_embed.c
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_OBJ)
	@echo "link $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -fopenmp=libgomp $< $(FUZZ_OBJ) -o $@ $(LIBS)

fuzz-build: deps
	$(MAKE) $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

# Runs every target for $(1) seconds; fails on the first finding.
define fuzz_run
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t $(FUZZ_BUILD)/crashes tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t; \
	  echo "== fuzz $$t ($(1) s)"; \
	  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
	  $(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crashes/$$t- $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t \
	    2>&1 | grep -E '^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' ; \
	  ls $(FUZZ_BUILD)/crashes/$$t-crash-* $(FUZZ_BUILD)/crashes/$$t-leak-* $(FUZZ_BUILD)/crashes/$$t-timeout-* \
	     $(FUZZ_BUILD)/crashes/$$t-oom-* >/dev/null 2>&1 && { echo "fuzz $$t: finding, see $(FUZZ_BUILD)/crashes"; exit 1; } ; \
	done; true
endef

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_TIME))

fuzz-smoke: fuzz-build
	$(call fuzz_run,$(FUZZ_SMOKE))
