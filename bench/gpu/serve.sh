# Sourced by the GPU scripts: start Tandem from the slim app on the GPU machine, wait for
# /health, stop it. APP (default .devcarry/app) holds tandem.jar + lib/ (bench/gpu/slim-app.sh).
APP=${APP:-.devcarry/app}
export LD_LIBRARY_PATH=/opt/cuda12${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
TANDEM_PID=

# start_tandem PORT LOG ARGS...: returns 0 once /health answers 200 (within 120 s)
start_tandem() {
  local port=$1 log=$2; shift 2
  /opt/jre/bin/java --enable-native-access=ALL-UNNAMED -DRUST_FLAVOR=cpu -DDJL_OFFLINE=true \
    -cp "$APP/tandem.jar:$APP/lib/*" io.tandem.server.Main --onnxruntime-native-path /opt/cuda12 \
    --hostname 127.0.0.1 --port "$port" "$@" > "$log" 2>&1 &
  TANDEM_PID=$!
  for _ in $(seq 1 120); do
    curl -sf "localhost:$port/health" >/dev/null && return 0
    kill -0 "$TANDEM_PID" 2>/dev/null || break
    sleep 1
  done
  echo "Tandem did not become healthy; last lines of $log:"; tail -n 30 "$log"
  return 1
}

stop_tandem() {
  [ -n "$TANDEM_PID" ] && kill -TERM "$TANDEM_PID" 2>/dev/null && wait "$TANDEM_PID" 2>/dev/null
  TANDEM_PID=
  return 0
}
