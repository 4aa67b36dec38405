#!/bin/sh
# tests/release.sh BUILD - what makes the build fit to leave this machine,
# as TAP: nothing binary tracked, one version everywhere, the shared
# library's SONAME, links and exported names, the example in mlrun.h, the
# pkg-config file, the man page and bash completion against --help, and
# portability (no AVX outside the run-time dispatched kernels; the default
# build run under qemu as CPUs without AVX-512 or AVX).
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CC=${CC:-cc}
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - SKIPPED: $* # SKIP"; echo "release.sh: SKIPPED: $*" >&2; }
check() {  # check DESCRIPTION COMMAND...: ok when the command succeeds
  desc=$1; shift
  if "$@" > "$TMP/out" 2>&1; then ok "$desc"; else nok "$desc"; sed 's/^/#   /' "$TMP/out" | tail -15; fi
}

# 1. no ELF object or ar archive is tracked (generated files live in build*/)
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z | xargs -0 lua5.4 -e '
    local bad = 0
    for _, f in ipairs(arg) do
      local h = io.open(f, "rb")
      local s = h and h:read(8) or ""
      if h then h:close() end
      if s:sub(1, 4) == "\127ELF" or s == "!<arch>\n" then print(f); bad = bad + 1 end
    end
    os.exit(bad == 0)' > "$TMP/elf" 2>&1
  if [ -s "$TMP/elf" ]; then nok "tracked files are not ELF objects or archives"; sed 's/^/#   tracked binary: /' "$TMP/elf"
  else ok "tracked files are not ELF objects or archives"; fi
else
  skip "not a git checkout: tracked files not checked"
fi

# 2. one version: runtime/ml.h's ML_VERSION everywhere
V=$(sed -n 's/^#define ML_VERSION "\([^"]*\)".*/\1/p' runtime/ml.h)
MAJOR=${V%%.*}
check "mlrun --version says $V" sh -c "'$BUILD/mlrun' --version | head -1 | grep -q '^mlrun $V '"
check "mlrun.pc says Version: $V" grep -qx "Version: $V" "$BUILD/mlrun.pc"
check "the rockspec is mlrun-$V-1.rockspec with version $V-1" \
  sh -c "ls mlrun-*.rockspec | grep -qx 'mlrun-$V-1.rockspec' && grep -q '^version = \"$V-1\"' mlrun-$V-1.rockspec"
check "CHANGELOG.md has a section for $V" grep -q "^## \[$V\]" CHANGELOG.md

# 3. the shared library: SONAME, file name, links, exported names
check "libmlrun.so has SONAME libmlrun.so.$MAJOR" \
  sh -c "readelf -d '$BUILD/libmlrun.so.$V' | grep -q 'SONAME.*\[libmlrun.so.$MAJOR\]'"
check "libmlrun.so -> libmlrun.so.$MAJOR -> libmlrun.so.$V" \
  sh -c "[ \"\$(readlink '$BUILD/libmlrun.so')\" = libmlrun.so.$MAJOR ] && [ \"\$(readlink '$BUILD/libmlrun.so.$MAJOR')\" = libmlrun.so.$V ]"
nm -D --defined-only "$BUILD/libmlrun.so.$V" | awk '{print $NF}' | grep -v "^MLRUN_$MAJOR\$" |
  sed "s/@@MLRUN_$MAJOR\$//" | sort > "$TMP/exported"
grep -o '^MLRUN_API [^(]*(' bindings/mlrun.h | sed 's/.*[ *]\([a-z_0-9]*\)($/\1/' | sort > "$TMP/public"
if [ -s "$TMP/public" ] && cmp -s "$TMP/exported" "$TMP/public"; then
  ok "nm -D libmlrun.so shows exactly the $(wc -l < "$TMP/public") MLRUN_API functions of mlrun.h"
else
  nok "nm -D libmlrun.so shows exactly the MLRUN_API functions of mlrun.h"
  diff "$TMP/public" "$TMP/exported" | sed 's/^/#   /' | head -20
fi
check "nm -D ml.so shows luaopen_ml only" \
  sh -c "[ \"\$(nm -D --defined-only '$BUILD/ml.so' | awk '{print \$NF}')\" = luaopen_ml ]"

# 4. the example in mlrun.h's comment compiles, links to libmlrun.so, runs
sed -n '/^ \* A session:/,/^ \*     mlrun_close(e);/p' bindings/mlrun.h | sed '1d; s/^ \*     //; s/^ \*$//' > "$TMP/body.c"
{ printf '#include <stdio.h>\n#include "mlrun.h"\nint main(void) {\n'; cat "$TMP/body.c"; printf '  return 0;\n}\n'; } > "$TMP/example.c"
if [ "$(wc -l < "$TMP/body.c")" -gt 5 ] &&
   $CC -std=c11 -Wall -Werror -Ibindings "$TMP/example.c" -o "$TMP/example" -L"$BUILD" -lmlrun \
     -Wl,-rpath,"$ROOT/$BUILD" > "$TMP/cc" 2>&1; then
  ok "the example in mlrun.h's comment compiles (-Wall -Werror) against libmlrun.so"
  check "the example in mlrun.h's comment prints 60" sh -c "'$TMP/example' | grep -qx 60"
else
  nok "the example in mlrun.h's comment compiles (-Wall -Werror) against libmlrun.so"
  sed 's/^/#   /' "$TMP/cc" | head -10
fi

# 5. pkg-config, man page, bash completion
check "pkg-config --validate mlrun.pc" pkg-config --validate "$BUILD/mlrun.pc"
check "mlrun.1 renders without warnings" sh -c "MANWIDTH=80 man --warnings -l docs/mlrun.1 2>&1 >/dev/null | (! grep .)"
for word in -e -i -l -v -E -W --threads --seed --memory-limit --version --help sweep --workers \
            serve --port --host --max-batch --batch-timeout-ms --labels --image-shape; do
  "$BUILD/mlrun" --help | grep -q -- "$word" || echo "--help lacks $word"
  roff=$(printf '%s' "$word" | sed 's/-/\\\\-/g')
  grep -q -- "$roff" docs/mlrun.1 || echo "mlrun.1 lacks $word"
done > "$TMP/doc"
if [ -s "$TMP/doc" ]; then nok "--help and mlrun.1 name every option"; sed 's/^/#   /' "$TMP/doc"
else ok "--help and mlrun.1 name every option and the sweep and serve subcommands"; fi
if command -v bash >/dev/null; then
  cat > "$TMP/comp.bash" <<'EOS'
. docs/mlrun-completion.bash
t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _mlrun; echo "${COMPREPLY[*]}"; }
[ "$(t mlrun swe)" = sweep ] || { echo "subcommand: $(t mlrun swe)"; exit 1; }
[ "$(t mlrun --thr)" = --threads ] || { echo "long option"; exit 1; }
[ "$(t mlrun -e x --memory)" = --memory-limit ] || { echo "after -e"; exit 1; }
[ "$(t mlrun sweep a.lua --wor)" = --workers ] || { echo "sweep option"; exit 1; }
[ "$(t mlrun sweep a.lua --mode '')" = "max min" ] || { echo "sweep --mode"; exit 1; }
[ "$(t mlrun script.lua --thr)" = "" ] || { echo "script arguments are files, not options"; exit 1; }
[ "$(t mlrun serv)" = serve ] || { echo "serve subcommand"; exit 1; }
[ "$(t mlrun serve m.mlm --max-bat)" = --max-batch ] || { echo "serve option"; exit 1; }
EOS
  check "bash completion: options, subcommands, sweep options, script arguments" bash "$TMP/comp.bash"
else
  skip "bash is not installed: completion not checked"
fi

# 6. portability: our code has AVX/AVX-512 only in target_clones variants
#    (runtime/dispatch.h), and the default build runs on older CPUs
if [ "$(uname -m)" != x86_64 ]; then
  skip "not x86-64: the dispatch and qemu checks are x86-only"
elif ! grep -q -- '-march=x86-64-v2' "$BUILD/.cflags" 2>/dev/null; then
  skip "$BUILD is not the default portable build (OPT=$(grep -o -- '-march=[^ ]*' "$BUILD/.cflags" 2>/dev/null)): portability not checked"
else
  objdump -d --no-show-raw-insn "$BUILD/libmlrun.a" | awk '
    /^[0-9a-f]+ <.*>:$/ { fn = $2 }
    /%[yz]mm[0-9]/ { if (fn !~ /arch_x86_64_v[34]/) bad[fn]++ }
    END { for (f in bad) print bad[f], f }' > "$TMP/avx"
  if [ -s "$TMP/avx" ]; then nok "no AVX instruction outside the dispatched variants"; sed 's/^/#   /' "$TMP/avx" | head
  else ok "no AVX instruction outside the dispatched variants ($(objdump -t "$BUILD/libmlrun.a" | grep -c 'arch_x86_64_v4$') AVX-512 clones)"; fi
  if command -v qemu-x86_64 >/dev/null; then
    # kernels behind ML_HOT (activations, pooling, im2col, optimizers,
    # elementwise, k-means and NMF sparse products) plus OpenBLAS
    cat > "$TMP/smoke.lua" <<'EOS'
ml.seed(3)
local nn = ml.nn
local x = ml.rand(8, 12, 12, 1)
local m = nn.Sequential{nn.Input{12, 12, 1}, nn.Conv2D(4, 3, {activation = "relu"}),
  nn.MaxPooling2D(2), nn.Flatten(), nn.Dense(10, {activation = "tanh"}), nn.Dense(3, {activation = "softmax"})}
m:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy"}
local y = ml.tensor({0, 1, 2, 0, 1, 2, 0, 1}, "int64")
local h = m:fit(x, y, {epochs = 3, batch_size = 4, verbose = 0})
local X = ml.rand(60, 20):mul_(ml.rand(60, 20):gt(0.7))
local km = ml.KMeans{n_clusters = 3, random_state = 0, n_init = 1}:fit(X)
local nmf = ml.NMF{n_components = 4, random_state = 0, max_iter = 50}:fit(X)
local a = ml.rand(300, 300)
print(string.format("%.5f %.5f %.4f %.4f %.4f", h.history.loss[3], (a * a + 1):sum() / 1e4,
  km.inertia_, nmf.reconstruction_err_, ml.matmul(a, a):sum() / 1e6))
EOS
    host=$("$BUILD/mlrun" "$TMP/smoke.lua" 2>&1)
    # the numbers agree to 1e-3 (OpenBLAS's kernels differ per CPU, ours do not)
    cat > "$TMP/agree.lua" <<'EOS'
local a, b = {}, {}
for v in arg[1]:gmatch("%S+") do a[#a + 1] = tonumber(v) end
for v in arg[2]:gmatch("%S+") do b[#b + 1] = tonumber(v) end
if #a ~= 5 or #b ~= 5 then os.exit(false) end
for i = 1, 5 do
  if math.abs(a[i] - b[i]) > 1e-3 * math.max(1, math.abs(a[i])) then os.exit(false) end
end
EOS
    for cpu in Nehalem Haswell; do
      # OpenBLAS picks its kernels by cpuid unless told: keep it on what the CPU has
      core=$(echo $cpu | tr a-z A-Z)
      # (qemu warns on stderr about CPU features TCG lacks: not our output)
      out=$(OPENBLAS_CORETYPE=$core qemu-x86_64 -cpu $cpu "$BUILD/mlrun" "$TMP/smoke.lua" 2>"$TMP/qerr")
      if lua5.4 "$TMP/agree.lua" "$host" "$out"; then
        ok "the default build runs under qemu-x86_64 -cpu $cpu and agrees with this CPU ($out)"
      else
        nok "the default build runs under qemu-x86_64 -cpu $cpu and agrees with this CPU"
        echo "#   host: $host"; echo "$out" | head -5 | sed 's/^/#   qemu: /'
        grep -v 'TCG doesn' "$TMP/qerr" | head -5 | sed 's/^/#   qemu stderr: /'
      fi
    done
  else
    skip "qemu-x86_64 is not installed (Debian qemu-user, make deps): the default build was not run as an older CPU"
  fi
fi
echo "1..$n"
