#!/usr/bin/env bash
# fp16 numerics of the benchmark's bge-m3- and reranker-shaped graphs against PyTorch fp32 on the
# fixtures' texts (numerics.py). Run on the GPU machine after bench/gpu/run.sh made the models.
set -uo pipefail
cd "$(dirname "$0")/../.."
# The bench scripts import the export package (models/export/tandem_export); no install needed.
export PYTHONPATH="$PWD/models/export${PYTHONPATH:+:$PYTHONPATH}"
. bench/gpu/serve.sh
OUT=${OUT:-./bench-out}
MODELS=${BENCH_MODELS:-/root/bench-models}
DIR=${NUMERICS_DIR:-/root/numerics}
mkdir -p "$OUT"
python3 bench/gpu/numerics.py prepare --models "$MODELS" --out "$DIR" || exit 1
start_tandem 3500 "$OUT/numerics-server.log" --device cuda:0 --embed-model "$DIR/m3" --rerank-model "$DIR/reranker" || exit 1
python3 bench/gpu/numerics.py check --url http://127.0.0.1:3500 --refs "$DIR/references.json" \
  --label "bge-m3 / reranker-base shapes, $(python3 -c "import json;print(json.load(open('$MODELS/m3/tandem.json')).get('layout','padded'))") $(python3 -c "import json;print(json.load(open('$MODELS/m3/tandem.json'))['dtype'])") graphs"
rc=$?
stop_tandem
exit $rc
