# Sourced by the GPU scripts: BENCH_JAVA is the command line that runs a bench class
# (server/target/test-classes) against the slim app (APP, default .devcarry/app: tandem.jar + lib/,
# bench/gpu/slim-app.sh) on the kit's Java (JAVA, default /opt/jre/bin/java) and ONNX Runtime
# natives (ORT_NATIVE, default /opt/cuda12; empty: the natives inside the jar). An array rather
# than a function, so that timeout and ncu can run it:
#   LD_LIBRARY_PATH=/opt/cuda12 timeout 90 "${BENCH_JAVA[@]}" io.tandem.server.bench.EngineBench ...
APP=${APP:-.devcarry/app}
ORT_NATIVE=${ORT_NATIVE-/opt/cuda12}
BENCH_JAVA=("${JAVA:-/opt/jre/bin/java}" --enable-native-access=ALL-UNNAMED -DRUST_FLAVOR=cpu -DDJL_OFFLINE=true
  ${ORT_NATIVE:+"-Donnxruntime.native.path=$ORT_NATIVE"} -cp "$APP/tandem.jar:$APP/lib/*:server/target/test-classes")
