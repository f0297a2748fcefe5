#!/usr/bin/env python3
"""Check a real bge-m3 export (Tandem layout) against TEI's m3_golden.json.

    python3 models/export/check_m3_golden.py --onnx-dir out/bge-m3-tandem \
        --golden ../shared/tei/tei-snapshots/m3_golden.json

m3_golden.json was produced by FlagEmbedding's BGEM3FlagModel (fp32, CPU,
max_length 512).  For each case it holds `dense_head5`, the first five values
of the L2-normalised CLS vector, and `lexical_weights`, {token_id: weight}
after dropping cls/eos/pad/unk and weights <= 0 and keeping the max per id.

This runs the exported graph with onnxruntime on each text alone (no padding),
applies the same post-processing, and compares: dense_head5 within --atol,
lexical weights with the same key set and values within --atol.  Exit 0 when
everything matches, 1 on a mismatch or error.  Only onnxruntime, tokenizers
and numpy are needed (no torch).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# This script's folder holds the package, so it is importable without an install.
from tandem_export.common import ExportError, log, read_json, require  # noqa: E402
from tandem_export.verify import lexical_weights, make_session, run_session  # noqa: E402

GOLDEN_MAX_LENGTH = 512  # what the golden file was produced with


def check(onnx_dir: Path, golden_path: Path, atol: float, cuda: bool) -> bool:
    """Compare every golden case; print per-case diffs; return True when all match."""
    np = require("numpy", "the golden check")
    tokenizers = require("tokenizers", "the golden check")
    manifest = read_json(onnx_dir / "tandem.json")
    if manifest.get("kind") != "embedder":
        raise ExportError(f"{onnx_dir}/tandem.json is not an embedder manifest")
    outputs = manifest.get("outputs", {})
    dense_name, sparse_name = outputs.get("dense"), outputs.get("sparse")
    if not dense_name or not sparse_name:
        raise ExportError(f"manifest lacks dense/sparse output names: {outputs}")
    skip = manifest.get("sparse_skip_token_ids") or [0, 1, 2, 3]
    golden = read_json(golden_path)
    cases = golden.get("cases") or []
    if not cases:
        raise ExportError(f"{golden_path} has no cases")

    tok = tokenizers.Tokenizer.from_file(str(onnx_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(min(GOLDEN_MAX_LENGTH, int(manifest.get("max_input_length", GOLDEN_MAX_LENGTH))))

    if cuda:
        ort = require("onnxruntime", "the golden check")
        session = ort.InferenceSession(str(onnx_dir / "model.onnx"),
                                       providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
        provider = session.get_providers()[0]
    else:
        session, provider = make_session(onnx_dir / "model.onnx", allow_cuda_fallback=True)
    log(f"checking {onnx_dir} ({manifest.get('dtype')}) on {provider} against {golden_path} (atol {atol:g})")

    all_ok = True
    for case in cases:
        text = case["text"]
        enc = tok.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        out = run_session(session, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                    "token_type_ids": np.zeros_like(ids)})
        dense = out[dense_name][0].astype(np.float64)
        dense = dense / max(float(np.linalg.norm(dense)), 1e-12)
        head = dense[: len(case["dense_head5"])]
        dense_diff = float(np.abs(head - np.array(case["dense_head5"], dtype=np.float64)).max())
        dense_ok = dense_diff <= atol

        got = lexical_weights(enc.ids, out[sparse_name][0].tolist(), skip)
        want = {str(k): float(v) for k, v in case["lexical_weights"].items()}
        only_got = sorted(set(got) - set(want), key=int)
        only_want = sorted(set(want) - set(got), key=int)
        common = set(got) & set(want)
        sparse_diff = max((abs(got[k] - want[k]) for k in common), default=0.0)
        sparse_ok = not only_got and not only_want and sparse_diff <= atol

        ok = dense_ok and sparse_ok
        all_ok &= ok
        log(f"{'OK  ' if ok else 'FAIL'} {text!r}: {len(enc.ids)} tokens; dense_head5 max diff {dense_diff:.2e}; "
            f"lexical {len(got)}/{len(want)} keys, max diff {sparse_diff:.2e}")
        if not dense_ok:
            log(f"     dense_head5 got {np.round(head, 6).tolist()} want {case['dense_head5']}")
        if only_got or only_want:
            log(f"     keys only in export: {[(k, round(got[k], 6)) for k in only_got]}; "
                f"only in golden: {[(k, round(want[k], 6)) for k in only_want]}")
        if common and sparse_diff > atol:
            worst = max(common, key=lambda k: abs(got[k] - want[k]))
            log(f"     worst token {worst}: got {got[worst]:.6f} want {want[worst]:.6f}")
    log("golden check " + ("PASSED" if all_ok else "FAILED"))
    return all_ok


def main(argv=None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Compare a Tandem bge-m3 export with TEI's m3_golden.json")
    parser.add_argument("--onnx-dir", required=True, type=Path, help="folder written by `python -m tandem_export export-m3`")
    parser.add_argument("--golden", required=True, type=Path, help="m3_golden.json")
    parser.add_argument("--atol", type=float, default=1e-3, help="absolute tolerance (default 1e-3)")
    parser.add_argument("--cuda", action="store_true",
                        help="run on CUDAExecutionProvider (needs onnxruntime-gpu; default CPU)")
    args = parser.parse_args(argv)
    try:
        return 0 if check(args.onnx_dir, args.golden, args.atol, args.cuda) else 1
    except ExportError as exc:
        log(f"ERROR: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
