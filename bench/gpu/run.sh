#!/usr/bin/env bash
# Tandem GPU benchmark: one command, run from the repository root ON the GPU machine after the
# kit is unpacked (bash /root/kit/unpack.sh). See bench/gpu/README.md.
#
#   bash bench/gpu/run.sh
#
# (a) gen_models.py: random-weight bge-m3 / bge-reranker-base shaped models, exported fp16 with
#     padding-free packed graphs (export-packed, flash attention) to $BENCH_MODELS/{m3,reranker}
# (b) torch_baseline.py: the same weights in torch fp16 + SDPA, in process
# (c) Tandem with both models on cuda:0, wait for /health
# (d) GpuLoadBench (server/target/test-classes) against it
# (e) SIGTERM the server
# (f) $OUT/bench.md: environment, versions, every table, step exit codes
#
# Every step has a hard timeout and the whole run a budget (BENCH_BUDGET_S, default 500 s);
# a failed step is recorded and the run goes on, and bench.md is assembled on any exit.
#
# Environment (defaults):
#   OUT=./bench-out  BENCH_MODELS=/root/bench-models  BENCH_BUDGET_S=500
#   BENCH_SECONDS=15 (measured seconds per case)  BENCH_WARMUP=3  BENCH_MIXED=10000
#   BENCH_EXPORT=packed|dynamo|ort  BENCH_REUSE=0 (1: keep already exported models)
#   BENCH_DEVICE=cuda:0  BENCH_PORT=3000  ORT_NATIVE_PATH=/opt/cuda12  JAVA=/opt/jre/bin/java
#   EMBED_MAX_BATCH_TOKENS=32768 RERANK_MAX_BATCH_TOKENS=16384
#   EMBED_GPU_MEM_LIMIT=20GiB RERANK_GPU_MEM_LIMIT=8GiB  SERVER_JAVA_OPTS=  BENCH_EXTRA_FLAGS=
#   BENCH_LIB= (a folder of the server's dependency jars instead of server/target/lib beside the jar)
#   BENCH_CLASSES=server/target/test-classes (where GpuLoadBench.class was compiled)
#   TANDEM_COMMIT= (the commit to print when the copy on the GPU machine has no usable .git)
#   BENCH_TOY=0 (1: tiny CPU graphs, --device cpu, no torch: a smoke test of the harness itself)
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
# The bench scripts import the export package (models/export/tandem_export); no install needed.
export PYTHONPATH="$PWD/models/export${PYTHONPATH:+:$PYTHONPATH}"

OUT=${OUT:-./bench-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
MODELS=${BENCH_MODELS:-/root/bench-models}
BUDGET=${BENCH_BUDGET_S:-500}
TOY=${BENCH_TOY:-0}
PORT=${BENCH_PORT:-3000}
PYTHON=${PYTHON:-python3}
NATIVE=${ORT_NATIVE_PATH:-/opt/cuda12}
if [ "$TOY" = 1 ]; then DEVICE=${BENCH_DEVICE:-cpu}; else DEVICE=${BENCH_DEVICE:-cuda:0}; fi
if [ -z "${JAVA:-}" ]; then
  if [ -x /opt/jre/bin/java ]; then JAVA=/opt/jre/bin/java
  elif [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then JAVA=$JAVA_HOME/bin/java
  else JAVA=java; fi
fi
START=$(date +%s)
SERVER_PID=
STEPS="$OUT/steps.md"
: > "$STEPS"
: > "$OUT/run.log"

log() { echo "[$(date +%H:%M:%S) +$(( $(date +%s) - START ))s] $*" | tee -a "$OUT/run.log"; }
remaining() { echo $(( BUDGET - ($(date +%s) - START) )); }
min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }

# step NAME CAP_SECONDS CMD...: runs CMD under `timeout` (the cap, or what is left of the budget),
# output to the console and $OUT/NAME.log; records the exit code; never stops the script.
STEP_RC=0
step() {
  local name=$1 cap=$2; shift 2
  local t; t=$(min "$cap" $(( $(remaining) - 20 )))
  if [ "$t" -lt 5 ]; then
    log "SKIP $name: no time left in the ${BUDGET}s budget"
    echo "| $name | skipped (no time left) | 0 |" >> "$STEPS"; STEP_RC=125; return 0
  fi
  log "STEP $name (timeout ${t}s): $*"
  local s; s=$(date +%s)
  set +e
  timeout -k 10 "$t" "$@" 2>&1 | tee "$OUT/$name.log"
  STEP_RC=${PIPESTATUS[0]}
  set -e
  local d=$(( $(date +%s) - s ))
  local what=$STEP_RC; [ "$STEP_RC" = 124 ] && what="124 (timeout after ${t}s)"
  echo "| $name | $what | $d |" >> "$STEPS"
  log "END $name: exit $what after ${d}s"
  return 0
}

stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    log "stopping Tandem (pid $SERVER_PID) with SIGTERM"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      log "Tandem still running after 20 s: SIGKILL"; kill -KILL "$SERVER_PID" 2>/dev/null || true
    else
      log "Tandem stopped"
    fi
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}

section() { # section TITLE FILE
  if [ -s "$2" ]; then printf '\n%s\n\n' "$1"; cat "$2"; else printf '\n%s\n\n(not produced: see steps above)\n' "$1"; fi
}

assemble() {
  {
    echo "# Tandem GPU benchmark"
    echo
    cat "$OUT/env.md" 2>/dev/null || true
    echo
    echo "## Steps"
    echo
    echo "| step | exit | seconds |"
    echo "| --- | --- | --- |"
    cat "$STEPS"
    echo
    echo "Total: $(( $(date +%s) - START )) s of a ${BUDGET} s budget."
    section "## Models (random weights, real shapes)" "$OUT/gen.md"
    [ -s "$OUT/torch.md" ] && { echo; cat "$OUT/torch.md"; } || section "## PyTorch in-process baseline" "$OUT/torch.md"
    [ -s "$OUT/tandem.md" ] && { echo; cat "$OUT/tandem.md"; } || section "## Tandem over HTTP" "$OUT/tandem.md"
    if grep -qvE '\| 0 \|' "$STEPS" 2>/dev/null && [ -s "$OUT/server.log" ]; then
      echo
      echo "<details><summary>last 60 lines of server.log</summary>"
      echo
      echo '```'
      tail -n 60 "$OUT/server.log"
      echo '```'
      echo "</details>"
    fi
  } > "$OUT/bench.md.tmp" && mv "$OUT/bench.md.tmp" "$OUT/bench.md"
}

finish() {
  local rc=$?
  set +e
  stop_server
  assemble
  log "wrote $OUT/bench.md (exit $rc)"
}
trap finish EXIT
trap 'log "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------------------- environment
log "Tandem GPU benchmark: repo $REPO, OUT=$OUT, models $MODELS, device $DEVICE, budget ${BUDGET}s"
{
  echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  if command -v nvidia-smi >/dev/null 2>&1; then
    echo "- GPU: $(timeout 20 nvidia-smi -i 0 --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1)" \
         "(name, memory, driver); $(timeout 20 nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -1)"
  else
    echo "- GPU: nvidia-smi not found"
  fi
  echo "- CPU: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')," \
       "$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo 2>/dev/null)"
  echo "- Python: $(timeout 60 "$PYTHON" - <<'EOF' 2>&1 | tail -1
import importlib, sys
parts = [sys.version.split()[0]]
for m in ("torch", "transformers", "onnx", "onnxruntime", "onnxscript", "tokenizers"):
    try:
        parts.append(f"{m} {importlib.import_module(m).__version__}")
    except Exception:
        parts.append(f"{m} -")
print(", ".join(parts))
EOF
)"
  echo "- Java: $(timeout 20 "$JAVA" -version 2>&1 | head -1) ($JAVA)"
  echo "- ONNX Runtime Java: $(ls "${BENCH_LIB:-server/target/lib}" 2>/dev/null | grep -E '^onnxruntime' | tr '\n' ' ')(natives from $NATIVE$( [ -f "$NATIVE/libonnxruntime.so" ] || echo ': MISSING'))"
  echo "- Tandem: ${TANDEM_COMMIT:-$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')} ($(git -C "$REPO" rev-parse --abbrev-ref HEAD 2>/dev/null || echo '?')); jar $(ls -l server/target/tandem.jar 2>/dev/null | awk '{print $5}') bytes"
  echo "- Settings: BENCH_SECONDS=${BENCH_SECONDS:-15} BENCH_WARMUP=${BENCH_WARMUP:-3} BENCH_EXPORT=${BENCH_EXPORT:-packed}" \
       "embed max-batch-tokens ${EMBED_MAX_BATCH_TOKENS:-32768}, rerank ${RERANK_MAX_BATCH_TOKENS:-16384};" \
       "GPU memory caps embed ${EMBED_GPU_MEM_LIMIT:-20GiB}, rerank ${RERANK_GPU_MEM_LIMIT:-8GiB}"
} > "$OUT/env.md"
cat "$OUT/env.md"

# ---------------------------------------------------------------------------- (a) models
GEN_ARGS=(--out "$MODELS")
[ "$TOY" = 1 ] && GEN_ARGS+=(--toy)
[ "${BENCH_REUSE:-0}" = 1 ] && GEN_ARGS+=(--reuse)
GEN_CAP=$(min 330 $(( $(remaining) - 150 )))
step gen "$GEN_CAP" "$PYTHON" bench/gpu/gen_models.py "${GEN_ARGS[@]}" --timeout $(( GEN_CAP - 10 ))
cp "$MODELS/gen.md" "$OUT/gen.md" 2>/dev/null || true
cp "$MODELS/gen.json" "$OUT/gen.json" 2>/dev/null || true

# ---------------------------------------------------------------------------- (b) torch baseline
if [ "$TOY" = 1 ] || [ "${BENCH_SKIP_TORCH:-0}" = 1 ]; then
  log "torch baseline skipped (toy run or BENCH_SKIP_TORCH=1)"
  echo "| torch | skipped | 0 |" >> "$STEPS"
elif [ -f "$MODELS/hf/m3/config.json" ]; then
  step torch 120 "$PYTHON" bench/gpu/torch_baseline.py --models "$MODELS" --out "$OUT/torch.md" --json "$OUT/torch.json"
else
  log "torch baseline skipped: no $MODELS/hf/m3"
  echo "| torch | skipped (no models) | 0 |" >> "$STEPS"
fi

# ---------------------------------------------------------------------------- (c) server
if [ ! -f "$MODELS/m3/model.onnx" ] || [ ! -f "$MODELS/reranker/model.onnx" ]; then
  log "ERROR: no exported models in $MODELS: cannot start Tandem"
  echo "| server | not started (no models) | 0 |" >> "$STEPS"
  exit 1
fi
CLASSES=${BENCH_CLASSES:-server/target/test-classes}
if [ ! -f server/target/tandem.jar ] || [ ! -f "$CLASSES/io/tandem/server/bench/GpuLoadBench.class" ]; then
  log "ERROR: server/target/tandem.jar, server/target/lib/ and $CLASSES/ must be built (and carried)"
  echo "| server | not started (no jar/test-classes) | 0 |" >> "$STEPS"
  exit 1
fi
JAVA_FLAGS=(--enable-native-access=ALL-UNNAMED -DRUST_FLAVOR=cpu -DDJL_OFFLINE=true)
SERVER_FLAGS=(--embed-model "$MODELS/m3" --rerank-model "$MODELS/reranker" --device "$DEVICE"
  --hostname 127.0.0.1 --port "$PORT"
  --embed-max-batch-tokens "${EMBED_MAX_BATCH_TOKENS:-32768}" --rerank-max-batch-tokens "${RERANK_MAX_BATCH_TOKENS:-16384}"
  --max-client-batch-size 64 --max-concurrent-requests 4096 --shutdown-grace-period 5)
if [ "$TOY" != 1 ]; then
  SERVER_FLAGS+=(--embed-gpu-mem-limit "${EMBED_GPU_MEM_LIMIT:-20GiB}" --rerank-gpu-mem-limit "${RERANK_GPU_MEM_LIMIT:-8GiB}")
fi
if [ -f "$NATIVE/libonnxruntime.so" ]; then
  export LD_LIBRARY_PATH="$NATIVE${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  JAVA_FLAGS+=("-Donnxruntime.native.path=$NATIVE")
  SERVER_FLAGS+=(--onnxruntime-native-path "$NATIVE")
elif [ "$TOY" != 1 ]; then
  log "WARNING: $NATIVE/libonnxruntime.so not found: was 'bash /root/kit/unpack.sh' run? Trying ORT's own natives."
fi
# shellcheck disable=SC2206
[ -n "${BENCH_EXTRA_FLAGS:-}" ] && SERVER_FLAGS+=(${BENCH_EXTRA_FLAGS})
# shellcheck disable=SC2206
[ -n "${SERVER_JAVA_OPTS:-}" ] && JAVA_FLAGS+=(${SERVER_JAVA_OPTS})
export DJL_OFFLINE=true RUST_FLAVOR=cpu OPT_OUT_TRACKING=true
if [ -n "${BENCH_LIB:-}" ]; then
  LAUNCH=(-cp "server/target/tandem.jar:${BENCH_LIB%/}/*" io.tandem.server.Main)
else
  LAUNCH=(-jar server/target/tandem.jar)
fi
GPU_BEFORE=-1
if command -v nvidia-smi >/dev/null 2>&1; then
  GPU_BEFORE=$(timeout 20 nvidia-smi -i 0 --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -1 | tr -dc '0-9')
  GPU_BEFORE=${GPU_BEFORE:--1}
  log "GPU memory used before the server starts: ${GPU_BEFORE} MiB"
fi
log "starting Tandem: $JAVA ${JAVA_FLAGS[*]} ${LAUNCH[*]} ${SERVER_FLAGS[*]}"
S0=$(date +%s)
"$JAVA" "${JAVA_FLAGS[@]}" "${LAUNCH[@]}" "${SERVER_FLAGS[@]}" > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
HEALTH_T=$(min "${SERVER_START_S:-180}" $(( $(remaining) - 40 )))
healthy=0
while [ $(( $(date +%s) - S0 )) -lt "$HEALTH_T" ]; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "Tandem exited during start-up:"; tail -n 30 "$OUT/server.log"; break
  fi
  if "$PYTHON" - "$PORT" <<'EOF' 2>/dev/null
import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
  then healthy=1; break; fi
  sleep 1
done
echo "| server start | $( [ $healthy = 1 ] && echo 0 || echo "not healthy within ${HEALTH_T}s" ) | $(( $(date +%s) - S0 )) |" >> "$STEPS"
if [ $healthy != 1 ]; then
  log "ERROR: Tandem not healthy; last lines of server.log:"; tail -n 40 "$OUT/server.log"
  exit 1
fi
log "Tandem healthy after $(( $(date +%s) - S0 )) s (pid $SERVER_PID)"

# ---------------------------------------------------------------------------- (d) load bench
LEFT=$(remaining)
BENCH_DEADLINE=$(( LEFT - 40 ))
step tandem $(( LEFT - 25 )) "$JAVA" -cp "$CLASSES" io.tandem.server.bench.GpuLoadBench \
  --url "http://127.0.0.1:$PORT" --out "$OUT/tandem.md" --server-pid "$SERVER_PID" \
  --seconds "${BENCH_SECONDS:-15}" --warmup "${BENCH_WARMUP:-3}" --mixed "${BENCH_MIXED:-10000}" \
  --deadline-s "$BENCH_DEADLINE" --baseline "$OUT/torch.json" --wait-health-s 30 --gpu-before-mib "$GPU_BEFORE"

# ---------------------------------------------------------------------------- (e) stop, (f) report
stop_server
log "done in $(( $(date +%s) - START )) s"
