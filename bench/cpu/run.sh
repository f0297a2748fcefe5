#!/usr/bin/env bash
# Tandem on the CPU against LangChain4j's in-process bge-small-zh-v1.5, same corpus, same run.
# Usage (from anywhere): bench/cpu/run.sh [rounds] [-- extra Tandem flags]
# Prints the two runs' RESULT lines and the table rows for bench/cpu/RESULTS.md.
set -euo pipefail
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
shift || true
QUERY="什么是向量检索？what is vector search"
OUT=$(mktemp -d)
mvn -B -ntp -q -DskipTests test-compile package
(cd bench/cpu/langchain4j && mvn -B -ntp -q -DskipTests package dependency:build-classpath -Dmdep.outputFile=target/cp.txt)
JAVA=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED)
echo "== LangChain4j"
"${JAVA[@]}" -cp "bench/cpu/langchain4j/target/langchain4j-anchor-1.jar:$(cat bench/cpu/langchain4j/target/cp.txt)" \
  bench.Lc4jBench bench/cpu/corpus.txt "$ROUNDS" "$OUT/lc4j.bin" "$QUERY" 2>&1 | grep -v '^SLF4J\|^WARNING'
echo "== Tandem"
CP="server/target/test-classes:server/target/tandem.jar:$(ls server/target/lib/*.jar | tr '\n' ':')"
RERANKERS=(models/src/test/resources/fixtures/reranker-tiny)
[ -d bench/cpu/models/reranker-base-random ] && RERANKERS+=(bench/cpu/models/reranker-base-random)
DJL_OFFLINE=true RUST_FLAVOR=cpu OPT_OUT_TRACKING=true "${JAVA[@]}" -cp "$CP" io.tandem.server.bench.CpuBench \
  bench/cpu/corpus.txt "$OUT/lc4j.bin" "$ROUNDS" "$QUERY" "${RERANKERS[@]}" -- "$@" 2>&1 | grep -v '^WARNING'
rm -rf "$OUT"
