#!/usr/bin/env bash
# Soak: mixed /embed + /rerank + /tokenize load on an in-process server, on CPU. Prints heap after
# GC, RSS and p50/p99 latency per route once a minute, then a final table; flat lines mean no leak.
# Usage (from anywhere): server/bench/soak.sh [minutes, default 10] [clients, default 4] [-- tandem flags]
# e.g. server/bench/soak.sh 10 4 -- --rerank-model /models/bge-reranker-base
# Defaults: built-in bge-small-zh-v1.5 embedder, the tiny reranker fixture of this repository.
set -euo pipefail
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
cd "$(dirname "$0")/../.."
mvn -q ${MVN_OFFLINE:+-o} -DskipTests test-compile package
CP="server/target/test-classes:server/target/tandem.jar:$(ls server/target/lib/*.jar | tr '\n' ':')"
DJL_OFFLINE=true RUST_FLAVOR=cpu OPT_OUT_TRACKING=true \
  "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -Xlog:disable -Xlog:all=warning:stderr \
  -cp "$CP" io.tandem.server.bench.Soak "$@"
