#!/usr/bin/env bash
# /embed p50/p99 on one keep-alive connection vs a fresh connection per request, CPU, built-in model.
# Usage (from the repository root): server/bench/keep-alive.sh [requests per cell]
set -euo pipefail
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
cd "$(dirname "$0")/../.."
mvn -q -DskipTests test-compile package
CP="server/target/test-classes:server/target/tandem.jar:$(ls server/target/lib/*.jar | tr '\n' ':')"
DJL_OFFLINE=true RUST_FLAVOR=cpu OPT_OUT_TRACKING=true \
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$CP" io.tandem.server.bench.KeepAliveBench "$@"
