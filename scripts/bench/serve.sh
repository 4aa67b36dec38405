#!/bin/sh
# scripts/bench/serve.sh [BUILD] - `mlrun serve` against a Flask + PyTorch
# twin (scripts/bench/serve_flask.py: the same CNN and weights), side by side
# on loopback: requests/s and p50/p99 latency of the MNIST CNN with JSON
# bodies at 1, 8 and 32 concurrent clients (wrk, DURATION seconds per run,
# the two servers alternating, REPS repetitions, medians), plus mlrun's
# in-process batch-1 predict latency over 1,000 calls. Loopback only, every
# run bounded in time. Prints the machine's load first.
BUILD=${1:-build}
MLRUN=$BUILD/mlrun
DURATION=${DURATION:-5}
REPS=${REPS:-3}
PY=/usr/bin/python3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
command -v wrk >/dev/null || { echo "SKIP serve: wrk is not installed (apt-get install wrk)"; exit 0; }
$PY -c "import flask, torch" 2>/dev/null || { echo "SKIP serve: needs python3-flask and python3-torch (Debian)"; exit 0; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
[ -f out/mnist_cnn.mlm ] || "$MLRUN" scripts/mnist_cnn.lua --epochs 1 --out out >/dev/null || exit 1
W=$(mktemp -d)
trap 'kill $MPID $FPID 2>/dev/null; rm -rf "$W"' EXIT
"$MLRUN" -e "
local m = ml.load('out/mnist_cnn.mlm')
local c, d = 0, 0
for _, l in ipairs(m.layers) do
  if l.__name == 'Conv2D' then c = c + 1
    ml.save_npy('$W/conv' .. c .. '_kernel.npy', l.kernel); ml.save_npy('$W/conv' .. c .. '_bias.npy', l.bias)
  elseif l.__name == 'Dense' then d = d + 1
    ml.save_npy('$W/dense' .. d .. '_kernel.npy', l.kernel); ml.save_npy('$W/dense' .. d .. '_bias.npy', l.bias)
  end
end
local _, _, x = ml.datasets.mnist()
local img = x[1]:reshape(-1)
local t = {}
for i = 1, img:numel() do t[i] = string.format('%.4g', img[i]) end
local f = io.open('$W/body.json', 'w'); f:write('{\"instances\": [[' .. table.concat(t, ',') .. ']]}'); f:close()
-- in-process batch-1 latency
local one = x:narrow(1, 1, 1)
for _ = 1, 50 do m:predict(one) end
local lat = {}
for i = 1, 1000 do local t0 = ml.parallel.now(); m:predict(one); lat[i] = (ml.parallel.now() - t0) * 1e6 end
table.sort(lat)
print(string.format('in-process batch-1 predict: p50 %.0f us, p99 %.0f us (1,000 calls)', lat[500], lat[990]))
" || exit 1
cat > "$W/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY"), "rb"); wrk.body = f:read("*a"); f:close()
LUA
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MPORT=$(free_port)
"$MLRUN" serve out/mnist_cnn.mlm --port "$MPORT" --name mnist > "$W/mlrun.log" 2>&1 &
MPID=$!
FPORT=$(free_port)
$PY scripts/bench/serve_flask.py "$W" "$FPORT" 1 > "$W/flask.log" 2>&1 &
FPID=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$MPORT/healthz" && curl -s -o /dev/null -X POST \
    -H 'Content-Type: application/json' --data-binary @"$W/body.json" "http://127.0.0.1:$FPORT/predict" && break
  sleep 0.2
done
head -1 "$W/mlrun.log"
A=$(curl -s -H 'Content-Type: application/json' --data-binary @"$W/body.json" "http://127.0.0.1:$MPORT/predict")
B=$(curl -s -H 'Content-Type: application/json' --data-binary @"$W/body.json" "http://127.0.0.1:$FPORT/predict")
echo "mlrun answers: $(echo "$A" | cut -c1-60)..."
echo "flask answers: $(echo "$B" | cut -c1-60)..."
[ "$(echo "$A" | sed -n 's/.*"class": *\([0-9]*\).*/\1/p')" = "$(echo "$B" | sed -n 's/.*"class": *\([0-9]*\).*/\1/p')" ] \
  || { echo "the two servers disagree"; exit 1; }
# wrk's --latency percentiles, in ms
ms() { awk -v q="$1" '$1 == q { v = $2; if (v ~ /us$/) v = v / 1000; else if (v ~ /ms$/) v = v + 0; else if (v ~ /s$/) v = v * 1000; print v }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
printf '\n| clients | mlrun req/s | Flask+PyTorch req/s | ratio | mlrun p50 / p99 ms | Flask p50 / p99 ms |\n'
printf '| --- | --- | --- | --- | --- | --- |\n'
for c in 1 8 32; do
  t=$([ "$c" -gt 1 ] && echo 2 || echo 1)
  : > "$W/m"; : > "$W/f"
  for r in $(seq 1 "$REPS"); do
    for side in m f; do
      port=$([ $side = m ] && echo "$MPORT" || echo "$FPORT")
      BODY="$W/body.json" wrk -t"$t" -c"$c" -d"${DURATION}s" --latency -s "$W/post.lua" \
        "http://127.0.0.1:$port/predict" > "$W/out" 2>&1
      rps=$(sed -n 's/^Requests\/sec: *//p' "$W/out")
      echo "$rps $(ms 50% < "$W/out") $(ms 99% < "$W/out")" >> "$W/$side"
    done
  done
  mr=$(cut -d' ' -f1 "$W/m" | median); fr=$(cut -d' ' -f1 "$W/f" | median)
  m50=$(cut -d' ' -f2 "$W/m" | median); m99=$(cut -d' ' -f3 "$W/m" | median)
  f50=$(cut -d' ' -f2 "$W/f" | median); f99=$(cut -d' ' -f3 "$W/f" | median)
  printf '| %s | %.0f | %.0f | %.1fx | %s / %s | %s / %s |\n' "$c" "$mr" "$fr" \
    "$(echo "$mr $fr" | awk '{ print ($2 > 0 ? $1 / $2 : 0) }')" "$m50" "$m99" "$f50" "$f99"
done
curl -s "http://127.0.0.1:$MPORT/metrics" | grep '^mlrun_batch_size_\(sum\|count\)' | tr '\n' ' '
echo
