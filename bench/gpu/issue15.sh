#!/usr/bin/env bash
# Issue 15's measurement run, one device call on the GPU machine after the kit's calls 0…7
# (../shared/gpu/README.md §2), carrying .devcarry (bench/gpu/slim-app.sh's app, plus
# .devcarry/test-classes, a copy of server/target/test-classes, and .devcarry/app/BUILD_INFO):
#
#   bash bench/gpu/issue15.sh
#
# run.sh (models, torch baseline, HTTP load), engine.sh (idle arena policy only), numerics.sh and
# attention-kernel.sh, with nvidia-smi sampled every 0.5 s and snapshots at start and end.
# Everything is written to /tmp/i15 and packed into $OUT/i15.tgz after every step (the device
# returns at most 8 files), bench.md is copied beside it.
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${OUT:-./bench-out}
mkdir -p "$O"
W=/tmp/i15
rm -rf "$W" && mkdir -p "$W"
pack() { (cd /tmp && tar czf "$O/i15.tgz" i15); cp -f "$W/bench.md" "$O/" 2>/dev/null; return 0; }
t() { echo "[$(date -u +%H:%M:%S)] $*" | tee -a "$W/issue15.log"; }

t "unpack kit"
source bench/gpu/carried-app.sh
use_carried_app "$W" || { pack; exit 1; }

nvidia-smi > "$W/smi-start.txt" 2>&1
nvidia-smi --query-gpu=timestamp,memory.used,utilization.gpu,clocks.sm,power.draw --format=csv -lms 500 \
  > "$W/smi.csv" 2>&1 &
SMI=$!

t "run.sh"
OUT=$W BENCH_LIB=.devcarry/app/lib TANDEM_COMMIT="$COMMIT" BENCH_SECONDS=${BENCH_SECONDS:-7} \
  BENCH_WARMUP=${BENCH_WARMUP:-2} BENCH_BUDGET_S=${BENCH_BUDGET_S:-330} bash bench/gpu/run.sh > "$W/run-console.log" 2>&1
t "run.sh exit $?"
nvidia-smi --query-compute-apps=pid,used_memory --format=csv > "$W/smi-after-run.txt" 2>&1
pack

t "engine.sh"
ENGINE_SHRINK=idle ENGINE_SECONDS=${ENGINE_SECONDS:-3} timeout 110 bash bench/gpu/engine.sh > "$W/engine.md" 2>&1
t "engine.sh exit $?"
pack

t "numerics.sh"
OUT=$W timeout 90 bash bench/gpu/numerics.sh > "$W/numerics.md" 2>&1
t "numerics.sh exit $?"
pack

t "attention-kernel.sh"
OUT=$W timeout 45 bash bench/gpu/attention-kernel.sh > "$W/attention.md" 2>&1
t "attention-kernel.sh exit $?"

kill "$SMI" 2>/dev/null
nvidia-smi > "$W/smi-end.txt" 2>&1
t "done"
pack
cat "$W/engine.md" "$W/numerics.md" "$W/attention.md" 2>/dev/null | grep -E '^\||kernels|SdpaKernel' | tail -40
