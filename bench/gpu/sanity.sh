#!/usr/bin/env bash
# Quick GPU check before the benchmark: both fixture models on cuda:0 through the server,
# outputs compared with the transformers references, GPU memory at load reported.
# Runs on the GPU machine after the kit is unpacked (see ../shared/gpu/README.md), from the
# repository root, with the slim server in $APP (tandem.jar + lib/).
set -euo pipefail
APP=${APP:-.devcarry/app}
OUT=${OUT:-./bench-out}
mkdir -p "$OUT"
export LD_LIBRARY_PATH=/opt/cuda12
FIX=models/src/test/resources/fixtures
/opt/jre/bin/java --enable-native-access=ALL-UNNAMED -DRUST_FLAVOR=cpu -DDJL_OFFLINE=true \
  -jar "$APP/tandem.jar" --onnxruntime-native-path /opt/cuda12 --device cuda:0 --port 3300 \
  --embed-model "$FIX/m3-tiny" --rerank-model "$FIX/reranker-tiny" > "$OUT/sanity-server.log" 2>&1 &
PID=$!
for i in $(seq 1 60); do curl -sf localhost:3300/health >/dev/null && break; sleep 1; done
curl -s localhost:3300/models | tee "$OUT/sanity-models.json"; echo
python3 - "$FIX/references.json" <<'PY'
import json, sys, urllib.request
refs = json.load(open(sys.argv[1]))
def post(path, body):
    req = urllib.request.Request("http://localhost:3300" + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
texts = [c["text"] for c in refs["embed"]]
dense = post("/embed", {"inputs": texts})
sparse = post("/embed_sparse", {"inputs": texts})
worst_d = max(abs(a - b) for c, v in zip(refs["embed"], dense) for a, b in zip(c["dense_normalized"], v))
worst_s = max((abs(c["sparse"][str(e["index"])] - e["value"]) for c, s in zip(refs["embed"], sparse) for e in s), default=0)
q = refs["rerank"][0]["query"]
pairs = [c for c in refs["rerank"] if c["query"] == q]
ranks = post("/rerank", {"query": q, "texts": [c["text"] for c in pairs]})
worst_r = max(abs(pairs[r["index"]]["score"] - r["score"]) for r in ranks)
print(f"GPU vs transformers fp32: dense {worst_d:.2e}, sparse {worst_s:.2e}, rerank {worst_r:.2e}")
PY
kill -TERM $PID; wait $PID || true
grep -E "cuda|GPU|CPU|WARN|SEVERE|Exception" "$OUT/sanity-server.log" | head -20
