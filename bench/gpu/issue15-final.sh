#!/usr/bin/env bash
# Issue 15's closing run, one device call after the kit's calls (bench/gpu/README.md), carrying
# .devcarry (bench/gpu/slim-app.sh) built at the commit measured:
#
#   bash bench/gpu/issue15-final.sh
#
# 1. the models (gen_models.py: bge-m3 and bge-reranker-base shapes, export-packed, seeded);
# 2. run.sh with --cuda-graphs and the torch baseline: every row of the issue's table, one run;
# 3. profile.sh: kernel time by kind and host gaps, Tandem against torch at the same batches;
# 4. LibraryLatencyBench without and with graphs: the single queries through the Java library,
#    the reranker's with one request repeated and with 64 in turn (the tokenizer's word cache);
# 5. numerics.sh: fp16 graphs against PyTorch fp32 (dense, sparse, ColBERT, rerank).
# A step starts only if FINAL_STOP_S seconds have not passed; FINAL_STEPS picks steps (a second
# call can finish what the first had no time for: the models are kept while the machine is warm).
# nvidia-smi samples memory every 0.2 s. Everything lands in /tmp/i15f, packed into
# $OUT/i15f.tgz after each step; a summary is printed at the end.
set -uo pipefail
cd "$(dirname "$0")/../.."
O=${OUT:-./bench-out}
mkdir -p "$O"
W=/tmp/i15f
mkdir -p "$W"
STEPS=${FINAL_STEPS:-models run profile library numerics}
STOP_S=${FINAL_STOP_S:-480}
T0=$(date +%s)
MODELS=/root/bench-models
pack() { (cd /tmp && tar czf "$O/i15f.tgz" i15f); return 0; }
t() { echo "[$(date -u +%H:%M:%S) +$(( $(date +%s) - T0 ))s] $*" | tee -a "$W/final.log"; }
want() { case " $STEPS " in *" $1 "*) [ $(( $(date +%s) - T0 )) -lt "$STOP_S" ] || { t "$1 skipped: past ${STOP_S}s"; return 1; } ;; *) return 1 ;; esac; }

t "unpack kit"
source bench/gpu/carried-app.sh
source bench/gpu/bench-java.sh
use_carried_app "$W" || { pack; exit 1; }
sample_gpu "$W"
export PYTHONPATH="$PWD/models/export${PYTHONPATH:+:$PYTHONPATH}"

if want models; then
  timeout 200 python3 bench/gpu/gen_models.py --out "$MODELS" --reuse --timeout 190 > "$W/gen.log" 2>&1
  t "models exit $?"
fi
if want run; then
  OUT=$W/run BENCH_LIB=.devcarry/app/lib TANDEM_COMMIT="$COMMIT" BENCH_SECONDS=${FINAL_SECONDS:-6} BENCH_WARMUP=2 \
    BENCH_BUDGET_S=240 BENCH_REUSE=1 BENCH_EXTRA_FLAGS="--cuda-graphs" bash bench/gpu/run.sh > "$W/run-console.log" 2>&1
  t "run exit $?"
  pack
fi
if want profile; then
  PROFILE_DIR=$W/profile timeout "${FINAL_PROFILE_S:-200}" bash bench/gpu/profile.sh > "$W/profile-console.log" 2>&1
  t "profile exit $?"
  pack
fi
if want library; then
  for mode in plain cuda-graphs; do
    LD_LIBRARY_PATH=/opt/cuda12 timeout 80 "${BENCH_JAVA[@]}" io.tandem.server.bench.LibraryLatencyBench \
      "$MODELS/m3" "$MODELS/reranker" cuda:0 3 $mode \
      > "$W/library-$mode.log" 2>&1
    t "library $mode exit $?"
    grep '^|' "$W/library-$mode.log" >> "$W/library.md"
  done
  pack
fi
if want numerics; then
  OUT=$W/numerics timeout 150 bash bench/gpu/numerics.sh > "$W/numerics.log" 2>&1
  t "numerics exit $?"
fi
kill "$SMI" 2>/dev/null
t "done"
{
  echo "## run"
  grep -E '^\| /(embed|rerank) [0-9]' "$W/run/tandem.md" 2>/dev/null | cut -d'|' -f2,6,7 | head -20
  grep -E '^\| (single|/embed 1|/rerank 1|rerank latency)' "$W/run/tandem.md" 2>/dev/null | cut -c1-220
  grep -E '^\| (idle|after|before)' "$W/run/tandem.md" 2>/dev/null | cut -d'|' -f2-4
  grep -E '^Mixed run' "$W/run/tandem.md" 2>/dev/null | cut -c1-300
  echo "## profile"
  cat "$W/profile/kernels.md" 2>/dev/null
  echo "## library (p50 / p90 / p99 ms; tokenization / queue / inference medians)"
  cat "$W/library.md" 2>/dev/null
  echo "## numerics"
  grep -iE 'cosine|pass|fail' "$W/numerics.log" 2>/dev/null | tail -12
} > "$W/summary.md"
cp "$W/summary.md" "$O/"
pack
cat "$W/summary.md"
