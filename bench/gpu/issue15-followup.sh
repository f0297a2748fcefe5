#!/usr/bin/env bash
# Issue 15 follow-up (one device call after the kit's calls 0…7, carrying .devcarry as for
# issue15.sh): splits the single-query latency into engine and serving (EngineBench at 1×16 and
# 20×128 next to 64×128 / 256×128 / 64×256), and reruns the HTTP load with 16 /embed clients
# instead of 8 to see whether the 64×128 gap to the engine is a shallow queue (the arena is
# shrunk whenever a batch starts with nothing queued behind it). nvidia-smi sampled every 0.5 s.
set -uo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD/models/export${PYTHONPATH:+:$PYTHONPATH}"
O=${OUT:-./bench-out}
mkdir -p "$O"
W=/tmp/f15
rm -rf "$W" && mkdir -p "$W"
MODELS=/root/bench-models
pack() { (cd /tmp && tar czf "$O/f15.tgz" f15); return 0; }
t() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$W/followup.log"; }

t "unpack kit"
source bench/gpu/carried-app.sh
use_carried_app "$W" || { pack; exit 1; }
nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu --format=csv -lms 500 > "$W/smi.csv" 2>&1 &
SMI=$!

t "models"
timeout 200 python3 bench/gpu/gen_models.py --out "$MODELS" --timeout 190 > "$W/gen.log" 2>&1
t "models exit $?"

t "engine"
ENGINE_SHRINK=idle ENGINE_SECONDS=3 ENGINE_EMBED_CASES="1x16 64x128 256x128" ENGINE_RERANK_CASES="20x128 64x256" \
  timeout 100 bash bench/gpu/engine.sh > "$W/engine.md" 2>&1
t "engine exit $?"
pack

t "server + GpuLoadBench with 16 /embed clients"
. bench/gpu/serve.sh
start_tandem 3000 "$W/server.log" --embed-model "$MODELS/m3" --rerank-model "$MODELS/reranker" --device cuda:0 \
  --embed-max-batch-tokens 32768 --rerank-max-batch-tokens 16384 --max-client-batch-size 64 \
  --max-concurrent-requests 4096 --embed-gpu-mem-limit 20GiB --rerank-gpu-mem-limit 8GiB && \
timeout 200 /opt/jre/bin/java -cp server/target/test-classes io.tandem.server.bench.GpuLoadBench \
  --url http://127.0.0.1:3000 --out "$W/tandem16.md" --server-pid "$TANDEM_PID" --seconds 5 --warmup 2 \
  --embed-clients 16 --mixed 2000 --deadline-s 190 --gpu-before-mib 0 > "$W/tandem16.log" 2>&1
t "GpuLoadBench exit $?"
stop_tandem
kill "$SMI" 2>/dev/null
t "done"
pack
cat "$W/engine.md"
grep -E '^\| (/|rerank)' "$W/tandem16.md" | cut -c1-220
