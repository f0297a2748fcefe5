#!/usr/bin/env bash
# Which attention kernel ONNX Runtime runs for the benchmark's bge-m3 graph on this GPU:
# one /embed at 512 and one at 4096 tokens with ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1
# (ORT prints one line per attention node per run). Run after bench/gpu/run.sh made the models.
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/gpu/serve.sh
MODELS=${BENCH_MODELS:-/root/bench-models}
OUT=${OUT:-./bench-out}
export ORT_ENABLE_ATTENTION_KERNEL_DEBUG_INFO=1
start_tandem 3400 "$OUT/attention-kernel.log" --device cuda:0 --embed-model "$MODELS/m3" || exit 1
for n in 510 4094; do
  words=$(python3 -c "print(' '.join('w%d' % (i % 1000) for i in range($n)))")
  curl -s -o /dev/null -w "embed $n words: %{http_code}\n" localhost:3400/embed -H 'Content-Type: application/json' \
    -d "{\"inputs\":\"$words\"}"
done
stop_tandem
echo "kernels chosen (count per kind):"
grep -o "SdpaKernel=[A-Z_]*" "$OUT/attention-kernel.log" | sort | uniq -c
grep -m3 -i "attention" "$OUT/attention-kernel.log"
