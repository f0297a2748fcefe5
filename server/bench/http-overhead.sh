#!/usr/bin/env bash
# HTTP overhead on CPU: /embed throughput vs the same tokenizer + ORT run in-process.
# Usage (from the repository root): server/bench/http-overhead.sh [seconds] [clients]
set -euo pipefail
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
cd "$(dirname "$0")/../.."
mvn -q -DskipTests test-compile package
CP="server/target/test-classes:server/target/tandem.jar:$(ls server/target/lib/*.jar | tr '\n' ':')"
DJL_OFFLINE=true RUST_FLAVOR=cpu OPT_OUT_TRACKING=true \
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$CP" io.tandem.server.bench.HttpOverheadBench "$@"
