#!/usr/bin/env bash
# Issue 15: CUDA graphs for small batches (--cuda-graphs: ShapeBuckets + BoundSession) and the
# arena held at the shrink threshold (flat memory over 10,000 mixed requests). One device call
# after the kit's calls 0…7 (../shared/gpu/README.md §2), carrying .devcarry as for issue15.sh:
#
#   bash bench/gpu/issue15-graphs.sh
#
# 1. the models (gen_models.py, bge-m3 and bge-reranker-base shapes, export-packed);
# 2. EngineBench at single-query and small shapes, "idle" (as served today) against "graphs"
#    (each graph's outputs checked against the model without graphs: max diff, lowest cosine;
#    GRAPHS_ENGINE=0 leaves it out), and the single queries through the Java library (no HTTP),
#    without and with graphs (LibraryLatencyBench);
# 3. run.sh with --cuda-graphs and the torch baseline (every row of the issue's table);
# 4. run.sh without --cuda-graphs and without torch, if the call has time left (GRAPHS_STOP_S).
# nvidia-smi samples memory every 0.2 s throughout. Everything lands in /tmp/i15g, packed into
# $OUT/i15g.tgz after each step; a summary is printed at the end.
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${OUT:-./bench-out}
mkdir -p "$O"
W=/tmp/i15g
rm -rf "$W" && mkdir -p "$W"
STOP_S=${GRAPHS_STOP_S:-390}
T0=$(date +%s)
MODELS=/root/bench-models
pack() { (cd /tmp && tar czf "$O/i15g.tgz" i15g); return 0; }
t() { echo "[$(date -u +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*" | tee -a "$W/graphs.log"; }

t "unpack kit"
source bench/gpu/carried-app.sh
source bench/gpu/bench-java.sh
use_carried_app "$W" || { pack; exit 1; }
sample_gpu "$W"
export PYTHONPATH="$PWD/models/export${PYTHONPATH:+:$PYTHONPATH}"

t "models"
timeout 200 python3 bench/gpu/gen_models.py --out "$MODELS" --timeout 190 > "$W/gen.log" 2>&1
t "models exit $?"

if [ "${GRAPHS_ENGINE:-1}" = 1 ]; then
  t "engine: idle vs graphs"
  ENGINE_SHRINK="idle graphs" ENGINE_SECONDS=2 ENGINE_EMBED_CASES="1x16 1x128 4x128 32x128" \
    ENGINE_RERANK_CASES="1x128 20x128 32x256" timeout 170 bash bench/gpu/engine.sh > "$W/engine.md" 2>&1
  t "engine exit $?"
  cat "$W/engine.md"
fi
t "library single queries: plain, then graphs"
for mode in ${GRAPHS_LIBRARY_MODES:-plain cuda-graphs}; do
  LD_LIBRARY_PATH=/opt/cuda12 timeout 90 "${BENCH_JAVA[@]}" io.tandem.server.bench.LibraryLatencyBench \
    "$MODELS/m3" "$MODELS/reranker" cuda:0 3 $mode \
    > "$W/library-$mode.log" 2>&1
  t "library $mode exit $?"
  grep '^|' "$W/library-$mode.log" | tee -a "$W/library.md"
done
pack

t "run A: --cuda-graphs, with torch"
OUT=$W/runA BENCH_LIB=.devcarry/app/lib TANDEM_COMMIT="$COMMIT" BENCH_SECONDS=${GRAPHS_SECONDS:-6} BENCH_WARMUP=2 \
  BENCH_BUDGET_S=230 BENCH_REUSE=1 BENCH_EXTRA_FLAGS="--cuda-graphs" bash bench/gpu/run.sh > "$W/runA-console.log" 2>&1
t "run A exit $?"
grep -i "graph\|bound\|fixed shape" "$W/runA/server.log" 2>/dev/null | head -20 > "$W/runA-graphs.txt"
pack

if [ $(( $(date +%s) - T0 )) -lt "$STOP_S" ]; then
  t "run B: without --cuda-graphs, no torch"
  OUT=$W/runB BENCH_LIB=.devcarry/app/lib TANDEM_COMMIT="$COMMIT" BENCH_SECONDS=6 BENCH_WARMUP=2 \
    BENCH_BUDGET_S=$(( 560 - ($(date +%s) - T0) )) BENCH_REUSE=1 BENCH_SKIP_TORCH=1 bash bench/gpu/run.sh \
    > "$W/runB-console.log" 2>&1
  t "run B exit $?"
else
  t "run B skipped: past ${STOP_S}s"
fi
kill "$SMI" 2>/dev/null
t "done"
{
  for d in "$W"/run*/; do
    echo "## $(basename "$d")"
    grep -E '^\| (idle|after|before)' "$d/tandem.md" 2>/dev/null | cut -d'|' -f2-4
    grep -E '^Mixed run' "$d/tandem.md" 2>/dev/null | cut -c1-300
    grep -E '^\| /(embed|rerank) [0-9]' "$d/tandem.md" 2>/dev/null | cut -d'|' -f2,6,7 | head -20
    grep -E '^\| (single|rerank latency)' "$d/tandem.md" 2>/dev/null | cut -c1-200
  done
  echo "## library (p50 / p90 / p99 ms)"
  cat "$W/library.md"
  echo "## graphs in run A's log"
  cat "$W/runA-graphs.txt"
} > "$W/summary.md"
cp "$W/summary.md" "$O/"
pack
cat "$W/summary.md"
