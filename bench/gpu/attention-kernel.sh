#!/usr/bin/env bash
# Which attention kernel ONNX Runtime runs for the exported bge-m3 graph on this GPU:
# one /embed at 512 and one at 4096 tokens with ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1
# (ORT prints one line per Attention node per run). Run after bench/gpu/run.sh made the models.
set -uo pipefail
APP=${APP:-.devcarry/app}
MODELS=${BENCH_MODELS:-/root/bench-models}
OUT=${OUT:-./bench-out}
export LD_LIBRARY_PATH=/opt/cuda12 ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1
/opt/jre/bin/java --enable-native-access=ALL-UNNAMED -DRUST_FLAVOR=cpu -DDJL_OFFLINE=true \
  -cp "$APP/tandem.jar:$APP/lib/*" io.tandem.server.Main --onnxruntime-native-path /opt/cuda12 \
  --device cuda:0 --port 3400 --embed-model "$MODELS/m3" > "$OUT/attention-kernel.log" 2>&1 &
PID=$!
for i in $(seq 1 90); do curl -sf localhost:3400/health >/dev/null && break; sleep 1; done
for n in 510 4094; do
  words=$(python3 -c "print(' '.join('w%d' % (i % 1000) for i in range($n)))")
  curl -s -o /dev/null -w "embed $n words: %{http_code}\n" localhost:3400/embed -H 'Content-Type: application/json' \
    -d "{\"inputs\":\"$words\"}"
done
kill -TERM $PID; wait $PID
echo "kernels chosen (count per kind):"
grep -o "SdpaKernel=[A-Z_]*" "$OUT/attention-kernel.log" | sort | uniq -c
grep -m3 -i "attention" "$OUT/attention-kernel.log"
