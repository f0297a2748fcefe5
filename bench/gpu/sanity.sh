#!/usr/bin/env bash
# Quick GPU check: two small models on cuda:0 through the server, outputs compared with the
# transformers fp32 references of the fixtures (numerics.py check), GPU memory at load reported.
# Default: the fixtures as committed (padded fp32 graphs). SANITY_EMBED / SANITY_RERANK point at
# other exports of the same tiny weights, e.g. fp16 packed graphs (bench/gpu/README.md).
# Runs on the GPU machine after the kit is unpacked, from the repository root.
set -uo pipefail
cd "$(dirname "$0")/../.."
# The bench scripts import the export package (models/export/tandem_export); no install needed.
export PYTHONPATH="$PWD/models/export${PYTHONPATH:+:$PYTHONPATH}"
. bench/gpu/serve.sh
OUT=${OUT:-./bench-out}
mkdir -p "$OUT"
FIX=models/src/test/resources/fixtures
EMBED=${SANITY_EMBED:-$FIX/m3-tiny}
RERANK=${SANITY_RERANK:-$FIX/reranker-tiny}
start_tandem 3300 "$OUT/sanity-server.log" --device cuda:0 --embed-model "$EMBED" --rerank-model "$RERANK" || exit 1
curl -s localhost:3300/models > "$OUT/sanity-models.json"
python3 bench/gpu/numerics.py check --url http://127.0.0.1:3300 --refs "$FIX/references.json" \
  --label "tiny fixtures: $(basename "$EMBED") + $(basename "$RERANK")"
rc=$?
stop_tandem
grep -E "cuda|CPU|WARN|SEVERE|Exception" "$OUT/sanity-server.log" | head -10
exit $rc
