#!/usr/bin/env bash
# Splits the kit's 60 MiB CUDA parts (.gpu-kit/cuda.NN from ../shared/gpu/make-kit.sh) into a
# 58 MiB head and a small tail (.gpu-kit/parts/cuda.NN.a / .b): a device call carries at most
# 64 MiB with the working tree (~4 MiB), so a whole 60 MiB part is refused. unpack.sh reads
# /root/kit/cuda.* in name order, which keeps NN.a, NN.b, then the next part.
# Calls then: 0 carries bin/, jre.tar.zst, kit.sha256, unpack.sh and four .b tails; one call per
# .a head; a last one carries the other tails and the last (small) part. See bench/gpu/README.md.
set -euo pipefail
cd "$(dirname "$0")/../../.gpu-kit"
mkdir -p parts
last=$(ls cuda.?? | tail -1)
for part in cuda.??; do
  [ "$part" = "$last" ] && continue
  head -c $((58 * 1024 * 1024)) "$part" > "parts/$part.a"
  tail -c +$((58 * 1024 * 1024 + 1)) "$part" > "parts/$part.b"
  cat "parts/$part.a" "parts/$part.b" | cmp -s - "$part" || { echo "split of $part differs"; exit 1; }
done
ls -la parts
