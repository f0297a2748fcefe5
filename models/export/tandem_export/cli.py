"""Command line: `python -m tandem_export SUBCOMMAND ...` or the `tandem-export` console script.

Subcommands (see models/export/README.md):

  export-m3        bge-m3 folder -> model.onnx with three outputs (dense_vecs,
                   sparse_weights, colbert_vecs) + tokenizer/config + tandem.json
  export-plain     XLM-R folder -> onnx/model.onnx with last_hidden_state only
                   (the layout of BAAI's own onnx/ folder) + 1_Pooling/config.json
  export-reranker  XLM-R or BERT sequence-classification folder -> model.onnx
                   with a `logits` output + tandem.json
  export-packed    XLM-R bge-m3 or reranker folder -> padding-free graph (packed
                   rows, flash attention on CUDA) built node by node + tandem.json
  verify           run an exported folder with onnxruntime (CPU) and the PyTorch
                   model on the same tokenized batch and compare the outputs
  quantize-int8    exported fp32 folder -> a NEW folder with onnxruntime's dynamic int8
                   quantisation of the graph (opt-in, never an export's default) and
                   quantize-report.json: cosine of the int8 vectors against fp32's

The heavy libraries (torch, transformers, onnx, onnxruntime, tokenizers) are
imported lazily so that `--help` works anywhere and a missing package gives a
clear message instead of a traceback.  Everything here runs on the CPU, except
the optional ORT optimizer which is told `use_gpu=True` so that its fusions
target the CUDA execution provider that the Java server uses.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .common import ExportError, log
from .onnx_export import DYNAMO_OPSET, export_m3, export_packed, export_plain, export_reranker
from .quantize import quantize_int8
from .verify import FP16_ATOL, FP16_RTOL, FP32_ATOL, FP32_RTOL, verify

PROG = "tandem_export"


def build_parser() -> argparse.ArgumentParser:
    """argparse with one subcommand per export layout plus verify."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Export bge-m3 / bge-reranker models to ONNX for the Tandem JVM server.")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, optimizable: bool):
        p.add_argument("--model", required=True, type=Path, help="local Hugging Face model folder")
        p.add_argument("--out", required=True, type=Path, help="output folder (created)")
        p.add_argument("--no-verify", action="store_true", help="skip the onnxruntime-vs-PyTorch check")
        p.add_argument("--atol", type=float, default=None, help="verify absolute tolerance")
        p.add_argument("--rtol", type=float, default=None, help="verify relative tolerance")
        if optimizable:
            p.add_argument("--fp16", action="store_true", help="optimize and convert to float16 (I/O stays fp32)")
            p.add_argument("--optimize", action="store_true", help="run the onnxruntime transformer optimizer")
            p.add_argument("--opt-level", type=int, default=0, choices=(0, 1, 2, 99),
                           help="optimizer opt_level (0 = Python fusions only; default)")
            p.add_argument("--max-length", type=int, default=None,
                           help="cap max_input_length recorded in tandem.json")
            p.add_argument("--dynamo", action="store_true",
                           help="export the fp16 model with SDPA attention via torch.onnx.export(dynamo=True, "
                                f"opset {DYNAMO_OPSET}): fused ONNX Attention nodes; implies --fp16")

    p = sub.add_parser("export-m3", help="bge-m3 -> dense/sparse/colbert graph + tandem.json")
    common(p, optimizable=True)
    p.add_argument("--source", default=None, help="text for tandem.json 'source' (default: --model path)")
    p = sub.add_parser("export-plain", help="encoder -> onnx/model.onnx (last_hidden_state) + 1_Pooling")
    common(p, optimizable=False)
    p = sub.add_parser("export-reranker", help="cross-encoder -> logits graph + tandem.json")
    common(p, optimizable=True)
    p = sub.add_parser("export-packed", help="XLM-R embedder (bge-m3) or reranker -> padding-free graph "
                                             "(flash attention on CUDA) + tandem.json")
    p.add_argument("--model", required=True, type=Path, help="local Hugging Face model folder")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--kind", choices=("embedder", "reranker"), default=None,
                   help="default: reranker for *ForSequenceClassification configs, else embedder (bge-m3 heads)")
    p.add_argument("--attention", choices=("packed", "portable"), default="packed",
                   help="packed: ORT's PackedMultiHeadAttention (CUDA only; default); portable: standard ops "
                        "with a block-diagonal mask, for CPU tests")
    p.add_argument("--fp32", action="store_true", help="keep float32 weights (default float16)")
    p.add_argument("--max-length", type=int, default=None, help="cap max_input_length recorded in tandem.json")
    p.add_argument("--source", default=None, help="text for tandem.json 'source' (default: --model path)")
    p = sub.add_parser("verify", help="compare an exported folder with the PyTorch model")
    p.add_argument("--onnx-dir", required=True, type=Path, help="exported folder")
    p.add_argument("--model", required=True, type=Path, help="the Hugging Face folder it came from")
    p.add_argument("--atol", type=float, default=None,
                   help=f"absolute tolerance (default {FP32_ATOL:g} fp32, {FP16_ATOL:g} fp16)")
    p.add_argument("--rtol", type=float, default=None,
                   help=f"relative tolerance (default {FP32_RTOL:g} fp32, {FP16_RTOL:g} fp16)")
    p = sub.add_parser("quantize-int8", help="exported fp32 folder -> new folder with a dynamic int8 graph "
                                             "+ quantize-report.json (cosine against fp32)")
    p.add_argument("--onnx-dir", required=True, type=Path,
                   help="exported fp32 folder (model.onnx or onnx/model.onnx, tokenizer.json, configs)")
    p.add_argument("--out", required=True, type=Path, help="new folder (created; the graph is replaced, "
                                                            "every other file copied)")
    p.add_argument("--texts", type=Path, default=None,
                   help="texts to compare on, one per line (a reranker's: query<TAB>text); "
                        "default: the fixture texts that verify uses")
    p.add_argument("--per-channel", choices=("on", "off"), default=None,
                   help="per-channel weight scales (default on)")
    p.add_argument("--reduce-range", choices=("on", "off"), default=None,
                   help="7-bit weights, for CPUs without VNNI (default off)")
    p.add_argument("--preprocess", action="store_true",
                   help="run onnxruntime's quant_pre_process first (default off: it did not change the "
                        "cosines of bge-small-zh-v1.5)")
    p.add_argument("--with-gather", action="store_true",
                   help="also quantise the embedding tables (smaller file, lower cosine; default: MatMul only)")
    p.add_argument("--search", action="store_true",
                   help="quantise with every per-channel x reduce-range setting and keep the one with the "
                        "highest min cosine")
    p.add_argument("--min-cosine", type=float, default=None, help="exit 2 if the min cosine is lower")
    p.add_argument("--speed-rounds", type=int, default=0,
                   help="also time fp32 vs int8: one onnxruntime thread, one text per run, this many "
                        "interleaved rounds over the texts, best of each (default 0: not timed)")
    return parser


def _on_off(value):
    return None if value is None else value == "on"


def main(argv=None) -> int:
    """Run a subcommand; exit 0 on success, 2 when verification fails, 1 on errors."""
    args = build_parser().parse_args(argv)
    start = time.perf_counter()
    try:
        if args.command == "export-m3":
            res = export_m3(args.model, args.out, fp16=args.fp16, optimize=args.optimize,
                            max_length=args.max_length, opt_level=args.opt_level,
                            verify_after=not args.no_verify, atol=args.atol, rtol=args.rtol,
                            source=args.source, dynamo=args.dynamo)
        elif args.command == "export-plain":
            res = export_plain(args.model, args.out, verify_after=not args.no_verify,
                               atol=args.atol, rtol=args.rtol)
        elif args.command == "export-reranker":
            res = export_reranker(args.model, args.out, fp16=args.fp16, optimize=args.optimize,
                                  max_length=args.max_length, opt_level=args.opt_level,
                                  verify_after=not args.no_verify, atol=args.atol, rtol=args.rtol,
                                  dynamo=args.dynamo)
        elif args.command == "export-packed":
            res = export_packed(args.model, args.out, kind=args.kind, attention=args.attention,
                                fp16=not args.fp32, max_length=args.max_length, source=args.source)
        elif args.command == "quantize-int8":
            report = quantize_int8(args.onnx_dir, args.out, texts=args.texts, per_channel=_on_off(args.per_channel),
                                   reduce_range=_on_off(args.reduce_range),
                                   preprocess=args.preprocess or None, search=args.search,
                                   with_gather=args.with_gather, speed_rounds=args.speed_rounds)
            ok = args.min_cosine is None or report["min_cosine"] >= args.min_cosine
            if not ok:
                log(f"min cosine {report['min_cosine']:.6f} < --min-cosine {args.min_cosine}")
            res = {"verify": {"ok": ok}}
        else:
            res = {"verify": verify(args.onnx_dir, args.model, atol=args.atol, rtol=args.rtol)}
    except ExportError as exc:
        log(f"ERROR: {exc}")
        return 1
    log(f"[time] total: {time.perf_counter() - start:.2f} s")
    ver = res.get("verify")
    if ver is not None and not ver.get("ok", False):
        log("ERROR: verification failed (files were written; rerun `verify` with --atol/--rtol to inspect)")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
