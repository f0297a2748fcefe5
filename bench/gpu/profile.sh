#!/usr/bin/env bash
# Where a batch's time goes, Tandem against torch at the same batches (kernel_profile.py): for
# each case, EngineBench's wall time (nothing blocking), then one EngineBench run of the case under
# CUDA_LAUNCH_BLOCKING=1 with ONNX Runtime's per-node trace, then torch.profiler over the same
# batches of the same weights; one Markdown table. Run on the GPU machine after the models exist
# (gen_models.py). PROFILE_EMBED_CASES / PROFILE_RERANK_CASES override the batches; PROFILE_DEVICE=cpu
# with JAVA=java APP=server/target ORT_NATIVE= tries the script on a machine without a GPU (no kernels there).
# PROFILE_NCU_CASES="m3:64x512 reranker:64x256" also times Tandem's kernels with Nsight Compute (ncu, on the
# GPU image): each case twice, 13 and 6 runs, whose difference is 7 runs' kernels (kernel_profile.py ncu).
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/gpu/bench-java.sh
MODELS=${BENCH_MODELS:-/root/bench-models}
W=${PROFILE_DIR:-/tmp/profile}
mkdir -p "$W"
export LD_LIBRARY_PATH=/opt/cuda12
export PYTHONPATH="$PWD/models/export${PYTHONPATH:+:$PYTHONPATH}"
EMBED_CASES=${PROFILE_EMBED_CASES:-256x128 64x512 8x4096 1x16}
RERANK_CASES=${PROFILE_RERANK_CASES:-64x256 20x128}
DEVICE=${PROFILE_DEVICE:-cuda:0}
engine() {
  "${BENCH_JAVA[@]}" io.tandem.server.bench.EngineBench "$@"
}
# wall_flag M CASE: "--wall-ms MS", EngineBench's ms per batch for the case (its row's batch column
# reads "R × S"), or nothing where the case has no row.
wall_flag() {
  awk -F'|' -v c="$2" '{b=$5; gsub(/ /,"",b); sub(/×/,"x",b); if (b==c) {gsub(/ /,"",$6); print "--wall-ms " $6}}' \
    "$W/$1-walls.md"
}
: > "$W/kernels.jsonl"
torch_cases=()
for m in m3 reranker; do
  cases=$EMBED_CASES
  [ "$m" = reranker ] && cases=$RERANK_CASES
  # shellcheck disable=SC2086
  engine "$MODELS/$m" "$DEVICE" 2 idle $cases 2>&1 | grep '^|' > "$W/$m-walls.md"
  cat "$W/$m-walls.md"
  for c in $cases; do
    torch_cases+=("$m $c")
    CUDA_LAUNCH_BLOCKING=1 engine "$MODELS/$m" "$DEVICE" 1 "profile=$W/$m-$c" "$c" > "$W/$m-$c.log" 2>&1 \
      || { echo "profile $m $c failed:"; tail -5 "$W/$m-$c.log"; continue; }
    python3 bench/gpu/kernel_profile.py ort --trace "$W/$m-${c}_*.json" --case "$m $c" $(wall_flag "$m" "$c") \
      >> "$W/kernels.jsonl"
  done
done
for mc in ${PROFILE_NCU_CASES:-}; do
  m=${mc%%:*}
  c=${mc#*:}
  for mode in "profile=$W/ncu-$m-$c 13" "idle 6"; do
    set -- $mode
    timeout "${NCU_TIMEOUT_S:-120}" "${NCU:-/usr/local/cuda/bin/ncu}" --csv --print-units base \
      --metrics gpu__time_duration.sum --clock-control none --cache-control none --log-file "$W/ncu-$m-$c-$2.csv" \
      "${BENCH_JAVA[@]}" io.tandem.server.bench.EngineBench "$MODELS/$m" "$DEVICE" 0 "$1" "$c" \
      > "$W/ncu-$m-$c-$2.log" 2>&1 \
      || { echo "ncu $m $c ($2 runs) failed:"; tail -5 "$W/ncu-$m-$c-$2.log"; }
  done
  python3 bench/gpu/kernel_profile.py ncu --csv "$W/ncu-$m-$c-13.csv" --runs-more 13 --fewer "$W/ncu-$m-$c-6.csv" \
    --runs-fewer 6 --case "$m $c" $(wall_flag "$m" "$c") >> "$W/kernels.jsonl"
done
python3 bench/gpu/kernel_profile.py torch --models "$MODELS" --scratch "$W" --device "${DEVICE%%:*}" --cases "${torch_cases[@]}" \
  2> "$W/torch.log" | grep '^{' >> "$W/kernels.jsonl"
python3 bench/gpu/kernel_profile.py table "$W/kernels.jsonl" | tee "$W/kernels.md"
