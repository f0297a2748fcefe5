#!/usr/bin/env bash
# Tandem on the CPU against LangChain4j's in-process bge-small-zh-v1.5, same corpus, same run.
# Usage (from anywhere): bench/cpu/run.sh [rounds] [-- extra Tandem flags]
# A round is one LangChain4j process then one Tandem process (CpuBench embed); this machine's
# speed drifts by 10-20% over minutes, so the two alternate and summarize.py reports medians of the
# rounds side by side. Then rounds of each reranker (CpuBench rerank): the tiny fixture, and
# bench/cpu/models/reranker-base-random when make_reranker_base.py has made it. The opt-in int8
# copy of the built-in model is measured when bench/cpu/models/bge-small-zh-int8 exists (see
# bench/cpu/RESULTS.md for the command that makes it).
set -euo pipefail
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
shift || true
[ "${1:-}" = "--" ] && shift
QUERY="什么是向量检索？what is vector search"
CORPUS=bench/cpu/corpus.txt
OUT=$(mktemp -d)
mvn -B -ntp -q -DskipTests test-compile package
(cd bench/cpu/langchain4j && mvn -B -ntp -q -DskipTests package dependency:build-classpath -Dmdep.outputFile=target/cp.txt)
JAVA=("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED)
LC4J_CP="bench/cpu/langchain4j/target/langchain4j-anchor-1.jar:$(cat bench/cpu/langchain4j/target/cp.txt)"
CP="server/target/test-classes:server/target/tandem.jar:$(ls server/target/lib/*.jar | tr '\n' ':')"
export DJL_OFFLINE=true RUST_FLAVOR=cpu OPT_OUT_TRACKING=true
INT8=()
[ -d bench/cpu/models/bge-small-zh-int8 ] && INT8=(bench/cpu/models/bge-small-zh-int8)
tandem() {  # CpuBench's RESULT line, tagged
  "${JAVA[@]}" -cp "$CP" io.tandem.server.bench.CpuBench "$@" 2>/dev/null | grep '^RESULT\|^reranker'
}
for r in $(seq "$ROUNDS"); do
  echo "== round $r: LangChain4j"
  "${JAVA[@]}" -cp "$LC4J_CP" bench.Lc4jBench "$CORPUS" 1 "$OUT/lc4j.bin" "$QUERY" 2>/dev/null \
    | grep '^RESULT' | sed 's/^RESULT/RESULT engine=lc4j/' | tee -a "$OUT/results.txt"
  echo "== round $r: Tandem"
  tandem embed "$CORPUS" "$OUT/lc4j.bin" "$QUERY" "${INT8[@]}" -- "$@" \
    | sed 's/^RESULT/RESULT engine=tandem/' | tee -a "$OUT/results.txt"
done
RERANKERS=(models/src/test/resources/fixtures/reranker-tiny)
[ -d bench/cpu/models/reranker-base-random ] && RERANKERS+=(bench/cpu/models/reranker-base-random)
for dir in "${RERANKERS[@]}"; do
  for r in $(seq "$ROUNDS"); do
    echo "== round $r: reranker $(basename "$dir")"
    tandem rerank "$CORPUS" "$QUERY" "$dir" -- "$@" \
      | sed "s/^RESULT/RESULT engine=rerank:$(basename "$dir")/" | tee -a "$OUT/results.txt"
  done
done
echo
python3 bench/cpu/summarize.py "$OUT/results.txt"
rm -rf "$OUT"
