"""Medians of bench/cpu/run.sh's rounds, as the rows of bench/cpu/RESULTS.md."""

import collections
import statistics
import sys

values = collections.defaultdict(list)
rounds = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8"):
    if not line.startswith("RESULT "):
        continue
    fields = dict(kv.split("=", 1) for kv in line.split()[1:])
    engine = fields.pop("engine")
    rounds[engine] += 1
    for key, value in fields.items():
        values[(engine, key)].append(float(value))


def med(engine, key):
    v = values.get((engine, key))
    return statistics.median(v) if v else None


def spread(engine, key):
    v = values.get((engine, key))
    return f"{min(v):.1f}-{max(v):.1f}" if v else ""


lc4j = med("lc4j", "lc4j_texts_per_s")
print(f"Medians of {rounds['lc4j']} alternating rounds (range in brackets).\n")
print("| engine | texts/s | vs LangChain4j |")
print("| --- | --- | --- |")
print(f"| LangChain4j `embedAll` | {lc4j:.1f} ({spread('lc4j', 'lc4j_texts_per_s')}) | 1.00× |")
rows = [("Tandem library `Embedder.embed(texts)`", "tandem_library"),
        ("Tandem library, whole last layer (before ClsPruning)", "tandem_library_full_last_layer"),
        ("Tandem `/embed`, 4 clients × 32 texts", "tandem_http4"),
        ("Tandem `/embed`, 1 client × 32 texts", "tandem_http1"),
        ("Tandem library, opt-in int8 copy", "int8_library")]
for label, key in rows:
    m = med("tandem", key)
    if m is not None:
        print(f"| {label} | {m:.1f} ({spread('tandem', key)}) | {m / lc4j:.2f}× |")
print(f"\nHTTP (4 clients) as a share of the library: "
      f"{100 * med('tandem', 'tandem_http4') / med('tandem', 'tandem_library'):.0f}%")
print(f"Lowest cosine against LangChain4j: {min(values[('tandem', 'lowest_cosine')]):.6f}", end="")
if ("tandem", "int8_lowest_cosine") in values:
    print(f"; int8 copy: {min(values[('tandem', 'int8_lowest_cosine')]):.6f}")
else:
    print()
print("\n| single query | p50 ms |")
print("| --- | --- |")
print(f"| LangChain4j `embed` in-process | {med('lc4j', 'lc4j_single_p50_ms'):.2f} |")
print(f"| Tandem model alone (one session run) | {med('tandem', 'model_single_p50_ms'):.2f} |")
print(f"| Tandem library `embed(text)` | {med('tandem', 'library_single_p50_ms'):.2f} |")
print(f"| Tandem `/embed`, one keep-alive connection | {med('tandem', 'tandem_single_p50_ms'):.2f}"
      f" (p99 {med('tandem', 'tandem_single_p99_ms'):.2f}) |")
rerankers = sorted(e for e in rounds if e.startswith("rerank:"))
if rerankers:
    print("\n| reranker (32 pairs a call, 4 callers) | library pairs/s | whole last layer | `/rerank` 4 clients | HTTP share |")
    print("| --- | --- | --- | --- | --- |")
    for e in rerankers:
        lib, full, http = (med(e, k) for k in ("rerank_library", "rerank_library_full_last_layer", "rerank_http4"))
        print(f"| {e[7:]} | {lib:.1f} | {full:.1f} | {http:.1f} | {100 * http / lib:.0f}% |")
