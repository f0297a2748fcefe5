#!/usr/bin/env bash
# Builds .devcarry/app: the server jar with a lib/ small enough to send to the GPU machine
# (ONNX Runtime's Java classes without their natives, which come from the kit's /opt/cuda12;
# no built-in model jar; Linux-only tokenizer natives). Run from the repository root.
set -euo pipefail
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
mvn -q -DskipTests package  # package compiles the tests too (the GPU load generator)
rm -rf .devcarry/app && mkdir -p .devcarry/app/lib
cp server/target/tandem.jar .devcarry/app/
for j in server/target/lib/*.jar; do
  b=$(basename "$j")
  case $b in
    langchain4j-*) ;;
    onnxruntime_gpu-*) cp "$j" .devcarry/app/lib/ && zip -q -d ".devcarry/app/lib/$b" 'ai/onnxruntime/native/*' ;;
    tokenizers-*) cp "$j" .devcarry/app/lib/ && zip -q -d ".devcarry/app/lib/$b" 'native/lib/osx*' 'native/lib/win*' 'native/lib/linux-aarch64/*' ;;
    *) cp "$j" .devcarry/app/lib/ ;;
  esac
done
du -sh .devcarry/app
