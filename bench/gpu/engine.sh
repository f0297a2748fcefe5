#!/usr/bin/env bash
# In-process engine throughput on the GPU (EngineBench: the pipeline without HTTP or tokenizer),
# for the benchmark's models, with the arena given back after every batch ("always") and not
# ("idle"). Run on the GPU machine after bench/gpu/run.sh made the models. ENGINE_EMBEDDERS /
# ENGINE_RERANKERS (model folders), ENGINE_EMBED_CASES / ENGINE_RERANK_CASES and ENGINE_SHRINK
# override what is run, e.g. to compare a padded export with the packed one on mixed lengths.
set -uo pipefail
cd "$(dirname "$0")/../.."
. bench/gpu/bench-java.sh
MODELS=${BENCH_MODELS:-/root/bench-models}
SECONDS_PER_CASE=${ENGINE_SECONDS:-4}
export LD_LIBRARY_PATH=/opt/cuda12
bench() {
  "${BENCH_JAVA[@]}" io.tandem.server.bench.EngineBench "$@" 2>&1 | grep '^|'
}
echo "| model | layout | arena shrink | batch | ms per batch | rate | sequences |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
# Cases: RxS (R rows of S tokens) or RxA-B (lengths stepping from A to B, as torch_baseline.py's mixed cases).
EMBED_CASES=${ENGINE_EMBED_CASES:-256x128 64x512 8x4096 64x128 32x512 4x4096 64x16-512 16x16-2048}
RERANK_CASES=${ENGINE_RERANK_CASES:-64x256 128x256}
for shrink in ${ENGINE_SHRINK:-idle always}; do
  for m in ${ENGINE_EMBEDDERS:-$MODELS/m3}; do bench "$m" cuda:0 "$SECONDS_PER_CASE" "$shrink" $EMBED_CASES; done
  for m in ${ENGINE_RERANKERS-$MODELS/reranker}; do bench "$m" cuda:0 "$SECONDS_PER_CASE" "$shrink" $RERANK_CASES; done
done
