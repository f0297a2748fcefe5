#!/usr/bin/env python3
"""In-process PyTorch baseline for the Tandem GPU benchmark (no HTTP, no tokenizer).

    python3 bench/gpu/torch_baseline.py --models /root/bench-models --out bench-out/torch.md

Loads the random-weight HF folders written by gen_models.py (hf/m3, hf/reranker) in fp16
with attn_implementation="sdpa" on cuda:0, as sentence-transformers would run them, and
measures like /work/shared/gpu/README.md: random token ids, no padding, CLS vector
normalised, 3 warm-ups then 10 timed runs between torch.cuda.synchronize() calls.

  bge-m3 shape:      tokens/s at (batch, seq) = (64, 128), (32, 512), (4, 4096), and on mixed-length
                     padded batches (64 rows of 16..512, 16 rows of 16..2048 tokens)
  reranker shape:    pairs/s at batch 64 × 256 and 32 × 256 tokens (one logit per pair)
  single query:      per-call latency p50/p99 (synchronised after every call) of one /embed input of
                     16 tokens and of one rerank query with 20 texts, pairs of 128 tokens

Writes a Markdown table (--out) and the same numbers as JSON (--json) for GpuLoadBench's
"torch in-process" column.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# models/export on PYTHONPATH (run.sh sets it) or `pip install models/export`; importing the
# package also sets HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE.
from tandem_export.modules import load_hf_model

T0 = time.monotonic()
VOCAB = 250002
EMBED_CASES = ((64, 128), (32, 512), (4, 4096))
# Mixed lengths (rows, shortest, longest): lengths step evenly from shortest to longest, as in
# EngineBench's RxA-B cases; the batch is padded to its longest row with an attention mask, as
# sentence-transformers does, and the rate counts real tokens.
MIXED_CASES = ((64, 16, 512), (16, 16, 2048))
RERANK_CASES = ((64, 256), (32, 256))
# Single-query latency: (rows, tokens) per call; per-call times, synchronised after each call.
LATENCY_EMBED = (1, 16)
LATENCY_RERANK = (20, 128)
LATENCY_WARMUPS, LATENCY_RUNS = 30, 300


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} +{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def load(cls, folder: Path, torch):
    """The fp16 model with SDPA attention on cuda (the export tool's loader: missing weights are an error)."""
    model = load_hf_model(folder, cls.__name__, attn="sdpa", half=True)
    impl = getattr(model.config, "_attn_implementation", "?")
    return model.to("cuda").eval(), impl


def timed_runs(fn, torch, warmups: int, runs: int) -> float:
    """Seconds per run: `warmups` untimed calls, then `runs` calls between two synchronize()."""
    for _ in range(warmups):
        fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / runs


def latency_ms(fn, torch, warmups: int, runs: int) -> list:
    """Sorted per-call milliseconds, each call followed by torch.cuda.synchronize()."""
    for _ in range(warmups):
        fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        out.append((time.perf_counter() - start) * 1000)
    return sorted(out)


def pct(sorted_ms: list, p: float) -> float:
    import math
    return sorted_ms[min(len(sorted_ms) - 1, max(0, math.ceil(p / 100 * len(sorted_ms)) - 1))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=Path("/root/bench-models"))
    ap.add_argument("--out", type=Path, default=Path("torch.md"))
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON")
    ap.add_argument("--warmups", type=int, default=3)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args(argv)

    import torch
    import transformers

    if not torch.cuda.is_available():
        log("ERROR: no CUDA device visible to torch")
        return 1
    gpu = torch.cuda.get_device_name(0)
    log(f"torch {torch.__version__}, transformers {transformers.__version__}, {gpu}")
    results = {}
    rows = []
    gen = torch.Generator(device="cuda").manual_seed(0)

    def write():
        lines = [f"## PyTorch in-process baseline ({gpu}, torch {torch.__version__}, "
                 f"transformers {transformers.__version__}, fp16, SDPA)", "",
                 f"Random ids, no padding, {args.warmups} warm-ups then {args.runs} timed runs; "
                 "embedder output = normalised CLS vector, reranker output = logits.", "",
                 "| model | batch × tokens | ms per batch | rate |", "| --- | --- | --- | --- |"] + rows
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        return lines

    def measure(model_label: str, shape: str, key: str, fn, count: int, describe) -> None:
        """Times fn, stores count per second under key and adds a table row (describe(rate, sec))."""
        try:
            sec = timed_runs(fn, torch, args.warmups, args.runs)
            results[key] = count / sec
            rows.append(f"| {model_label} | {shape} | {sec * 1000:.1f} | {describe(count / sec, sec)} |")
        except Exception as exc:  # noqa: BLE001 - keep the other cases
            rows.append(f"| {model_label} | {shape} | failed | `{type(exc).__name__}: {exc}`"[:200] + " |")
        log(rows[-1])
        write()

    model, impl = load(transformers.XLMRobertaModel, args.models / "hf" / "m3", torch)
    log(f"bge-m3 shape loaded (attention={impl}), "
        f"{torch.cuda.memory_allocated() / 2**30:.2f} GiB allocated")

    def embed_batch(lengths: list):
        """Random ids, rows padded to the longest (pad id 1, mask 0); returns the timed call."""
        longest = max(lengths)
        ids = torch.randint(4, VOCAB - 1, (len(lengths), longest), device="cuda", generator=gen)
        mask = (torch.arange(longest, device="cuda")[None, :] < torch.tensor(lengths, device="cuda")[:, None]).long()
        ids = ids * mask + (1 - mask)

        @torch.inference_mode()
        def embed():
            h = model(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
            return torch.nn.functional.normalize(h.float(), dim=-1)
        return embed

    for batch, seq in EMBED_CASES:
        measure("bge-m3 shape", f"{batch} × {seq}", f"embed_{batch}x{seq}_tok_s", embed_batch([seq] * batch),
                batch * seq, lambda rate, _: f"{rate / 1000:.0f}k tok/s")
    for batch, shortest, longest in MIXED_CASES:
        lengths = [shortest + (longest - shortest) * r // (batch - 1) for r in range(batch)]
        measure("bge-m3 shape, padded", f"{batch} × {shortest}-{longest}",
                f"embed_{batch}x{shortest}to{longest}_tok_s", embed_batch(lengths), sum(lengths),
                lambda rate, _: f"{rate / 1000:.0f}k tok/s (real tokens)")

    def measure_latency(model_label: str, shape: str, key: str, fn) -> None:
        """Single-query latency: p50/p99 of per-call times (keys KEY_p50_ms, KEY_p99_ms)."""
        try:
            ms = latency_ms(fn, torch, LATENCY_WARMUPS, LATENCY_RUNS)
            results[f"{key}_p50_ms"] = pct(ms, 50)
            results[f"{key}_p99_ms"] = pct(ms, 99)
            rows.append(f"| {model_label}, single query | {shape} | {pct(ms, 50):.2f} | "
                        f"p50 {pct(ms, 50):.2f} ms, p99 {pct(ms, 99):.2f} ms ({LATENCY_RUNS} calls, each synchronised) |")
        except Exception as exc:  # noqa: BLE001 - keep the other cases
            rows.append(f"| {model_label}, single query | {shape} | failed | `{type(exc).__name__}: {exc}`"[:200] + " |")
        log(rows[-1])
        write()

    batch, seq = LATENCY_EMBED
    measure_latency("bge-m3 shape", f"{batch} × {seq}", f"embed_{batch}x{seq}", embed_batch([seq] * batch))
    peak = torch.cuda.max_memory_allocated() / 2**30
    del model
    torch.cuda.empty_cache()

    model, impl = load(transformers.XLMRobertaForSequenceClassification, args.models / "hf" / "reranker", torch)
    log(f"reranker shape loaded (attention={impl})")

    def rerank_batch(batch: int, seq: int):
        ids = torch.randint(4, VOCAB - 1, (batch, seq), device="cuda", generator=gen)
        mask = torch.ones_like(ids)

        @torch.inference_mode()
        def rerank():
            return model(input_ids=ids, attention_mask=mask).logits.float()
        return rerank

    for batch, seq in RERANK_CASES:
        measure("reranker shape", f"{batch} × {seq}", f"rerank_{batch}x{seq}_pairs_s", rerank_batch(batch, seq), batch,
                lambda rate, sec, b=batch, q=seq: f"{rate:.0f} pairs/s ({b * q / sec / 1000:.0f}k tok/s)")
    batch, seq = LATENCY_RERANK
    measure_latency("reranker shape", f"{batch} × {seq}", f"rerank_{batch}x{seq}", rerank_batch(batch, seq))
    results["embed_peak_allocated_gib"] = round(peak, 2)
    lines = write()
    lines.append("")
    lines.append(f"Peak torch memory (bge-m3 shape): {peak:.2f} GiB allocated.")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
