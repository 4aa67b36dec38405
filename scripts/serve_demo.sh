#!/bin/sh
# scripts/serve_demo.sh [MLRUN] - the served image classifier, end to end:
# takes the MNIST CNN that scripts/mnist_cnn.lua saved (training it for one
# epoch on the shipped data when there is none), serves it on a free
# loopback port, sends a digit PNG from data/mnist-png, prints the answer,
# and stops the server with SIGTERM (it drains and exits 0).
MLRUN=${1:-build/mlrun}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
MODEL=out/mnist_cnn.mlm
if [ ! -f "$MODEL" ]; then
  "$MLRUN" scripts/mnist_cnn.lua --epochs 1 --out out || exit 1
fi
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
"$MLRUN" serve "$MODEL" --port 0 --name mnist > "$LOG" 2>&1 &
PID=$!
PORT=""
for _ in $(seq 1 100); do
  PORT=$(sed -n 's/^serving .*:\([0-9][0-9]*\) .*/\1/p' "$LOG")
  [ -n "$PORT" ] && break
  kill -0 $PID 2>/dev/null || break
  sleep 0.1
done
if [ -z "$PORT" ]; then echo "the server did not start:"; cat "$LOG"; kill $PID 2>/dev/null; exit 1; fi
cat "$LOG"
DIGIT=data/mnist-png/7_0001.png
echo "POST $DIGIT (a 7) to http://127.0.0.1:$PORT/predict"
ANSWER=$(curl -s -H 'Content-Type: image/png' --data-binary @"$DIGIT" "http://127.0.0.1:$PORT/predict")
echo "$ANSWER" | sed 's/"probabilities": \[[^]]*\], //'
kill -TERM $PID
wait $PID
STATUS=$?
echo "server stopped (exit status $STATUS)"
echo "$ANSWER" | grep -q '"class": 7' || { echo "expected class 7"; exit 1; }
[ "$STATUS" -eq 0 ]
