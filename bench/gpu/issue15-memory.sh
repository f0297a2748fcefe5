#!/usr/bin/env bash
# Issue 15, GPU memory after the arena-shrink change (ArenaShrink, d9c7fb7): is the memory left
# after the /embed cases the same in every run, and is it flat over 10,000 mixed requests?
# One device call on the GPU machine after the kit's calls 0…7 (../shared/gpu/README.md §2),
# carrying .devcarry as for issue15.sh (.devcarry/app from bench/gpu/slim-app.sh with
# BUILD_INFO, .devcarry/test-classes a copy of server/target/test-classes):
#
#   bash bench/gpu/issue15-memory.sh
#
# Runs bench/gpu/run.sh MEM_RUNS times (default 3) on the same machine, each with a fresh server
# start, the settings of issue 15's runs A and B (BENCH_SECONDS=7, BENCH_WARMUP=2, 10,000 mixed
# requests), the models generated once (the first run; the later ones reuse them) and no torch
# baseline (memory is the point here; Tandem's throughput rows still come with each run).
# nvidia-smi memory.used is sampled every 0.2 s for the whole call, so the series over the mixed
# requests can be read between GpuLoadBench's "mixed:" log lines. A run is started only while
# MEM_STOP_S (default 430) seconds have not passed, so the call ends inside the device's 600 s.
# Everything goes to /tmp/i15m, packed into $OUT/i15m.tgz after every run; a summary of the
# memory rows is printed at the end and written to $OUT/summary.md.
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${OUT:-./bench-out}
mkdir -p "$O"
W=/tmp/i15m
rm -rf "$W" && mkdir -p "$W"
RUNS=${MEM_RUNS:-3}
STOP_S=${MEM_STOP_S:-430}
T0=$(date +%s)
pack() { (cd /tmp && tar czf "$O/i15m.tgz" i15m); return 0; }
t() { echo "[$(date -u +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*" | tee -a "$W/memory.log"; }

t "unpack kit"
source bench/gpu/carried-app.sh
use_carried_app "$W" || { pack; exit 1; }

sample_gpu "$W"

for r in $(seq 1 "$RUNS"); do
  if [ $(( $(date +%s) - T0 )) -gt "$STOP_S" ] && [ "$r" -gt 1 ]; then
    t "run $r skipped: past ${STOP_S}s"; break
  fi
  reuse=1; budget=230
  [ "$r" = 1 ] && { reuse=0; budget=300; }
  t "run $r: run.sh (BENCH_REUSE=$reuse, budget ${budget}s)"
  OUT=$W/run$r BENCH_LIB=.devcarry/app/lib TANDEM_COMMIT="$COMMIT" BENCH_SECONDS=7 BENCH_WARMUP=2 \
    BENCH_BUDGET_S=$budget BENCH_REUSE=$reuse BENCH_SKIP_TORCH=1 bash bench/gpu/run.sh > "$W/run$r-console.log" 2>&1
  t "run $r: exit $?"
  nvidia-smi --query-compute-apps=pid,used_memory --format=csv > "$W/run$r/smi-after.txt" 2>&1
  pack
done

kill "$SMI" 2>/dev/null
t "done"
{
  echo "# memory rows (process MiB | GPU used − before start), commit $COMMIT"
  for d in "$W"/run*/; do
    echo
    echo "## $(basename "$d")"
    grep -E '^\| (idle|after|before)' "$d/tandem.md" 2>/dev/null | cut -d'|' -f2-4
    grep -E '^Mixed run' "$d/tandem.md" 2>/dev/null | cut -c1-400
    grep -E '^\| /(embed|rerank) [0-9]' "$d/tandem.md" 2>/dev/null | cut -d'|' -f2,6,7
  done
} > "$W/summary.md"
cp "$W/summary.md" "$O/"
pack
cat "$W/summary.md"
