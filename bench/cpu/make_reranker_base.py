#!/usr/bin/env python3
"""A random-weight reranker with bge-reranker-base's shape, for the CPU benchmark (bench/cpu/run.sh).

    python3 bench/cpu/make_reranker_base.py            # -> bench/cpu/models/reranker-base-random

transformers.XLMRobertaForSequenceClassification with bge-reranker-base's shape (hidden 768, 12
layers, 12 heads, FFN 3072, 514 positions, type_vocab_size 1, 1 label, layer_norm_eps 1e-5),
transformers' own initialisation under a fixed seed, and the vocabulary of the tiny fixtures'
tokenizer (models/src/test/resources/fixtures/tokenizer.json, 1,361 ids) instead of XLM-R's
250k: the embedding table is a lookup, so the arithmetic per token is the real model's; the token
counts are those of the tiny tokenizer. It goes through the same path as the committed
fixtures/reranker-tiny (tandem_export.fixtures): a Hugging Face folder with XLM-R tokenizer side
files, `export-reranker` (fp32, no optimizer; the export verifies onnxruntime against PyTorch),
then config.json pinned as fix_config pins the fixture's. The output folder is laid out like the
fixture (config.json, model.onnx, tandem.json, tokenizer.json, tokenizer_config.json,
special_tokens_map.json), with a copy of tokenizer.json instead of the fixture's symlink. ~86M
parameters (the real model's 278M are mostly its 250k-row embedding table), so model.onnx is
~330 MiB. bench/cpu/models/ is git-ignored.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "models" / "export"))  # tandem_export, without an install

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

from tandem_export.common import ExportError, log, read_json  # noqa: E402
from tandem_export.hub_io import pin_config, write_xlmr_tokenizer_files  # noqa: E402
from tandem_export.onnx_export import export_reranker  # noqa: E402

FIXTURES = REPO / "models" / "src" / "test" / "resources" / "fixtures"
SHARED_TOKENIZER = FIXTURES / "tokenizer.json"
DEFAULT_OUT = REPO / "bench" / "cpu" / "models" / "reranker-base-random"
SEED = 20261202
# BAAI/bge-reranker-base's config.json, less its vocabulary.
BASE_SHAPE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                  max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5, hidden_act="gelu",
                  pad_token_id=1, bos_token_id=0, eos_token_id=2, initializer_range=0.02)
MAX_INPUT_LENGTH = BASE_SHAPE["max_position_embeddings"] - BASE_SHAPE["pad_token_id"] - 1  # 512


def build_hf_folder(folder: Path, seed: int) -> int:
    """Save the random model as a Hugging Face folder with the fixture tokenizer; returns its parameter count."""
    import tokenizers
    import torch
    import transformers

    vocab_size = tokenizers.Tokenizer.from_file(str(SHARED_TOKENIZER)).get_vocab_size(with_added_tokens=True)
    cfg = transformers.XLMRobertaConfig(vocab_size=vocab_size, architectures=["XLMRobertaForSequenceClassification"],
                                        num_labels=1, id2label={0: "LABEL_0"}, label2id={"LABEL_0": 0},
                                        **BASE_SHAPE)
    torch.manual_seed(seed)
    model = transformers.XLMRobertaForSequenceClassification(cfg).eval()
    if int(model.config.num_labels) != 1:
        raise ExportError(f"num_labels={model.config.num_labels}, expected 1")
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(str(folder))
    write_xlmr_tokenizer_files(folder, SHARED_TOKENIZER, MAX_INPUT_LENGTH)
    log(f"random XLM-R reranker: vocab {vocab_size}, {params / 1e6:.1f}M parameters, seed {seed} -> {folder}")
    return params


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--keep-hf", type=Path, default=None, help="keep the Hugging Face folder here (for `verify`)")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    import torch
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    try:
        with tempfile.TemporaryDirectory(prefix="reranker-base-hf-") as tmp:
            hf = args.keep_hf or Path(tmp) / "hf"
            if hf.exists() and any(hf.iterdir()):
                raise ExportError(f"--keep-hf {hf} exists and is not empty")
            hf.mkdir(parents=True, exist_ok=True)
            build_hf_folder(hf, args.seed)
            if args.out.exists():
                shutil.rmtree(args.out)
            res = export_reranker(hf, args.out)  # fp32, verified against PyTorch
            pin_config(args.out / "config.json", ["XLMRobertaForSequenceClassification"], {"0": "LABEL_0"},
                       max_position_embeddings=BASE_SHAPE["max_position_embeddings"], pad_token_id=1,
                       bos_token_id=0, eos_token_id=2, hidden_size=BASE_SHAPE["hidden_size"],
                       vocab_size=int(read_json(args.out / "config.json")["vocab_size"]))
    except ExportError as exc:
        log(f"ERROR: {exc}")
        return 1
    size = (args.out / "model.onnx").stat().st_size
    log(f"wrote {args.out} (model.onnx {size / 2**20:.0f} MiB) in {time.perf_counter() - start:.0f} s; "
        f"files: {sorted(p.name for p in args.out.iterdir())}")
    if not res["verify"].get("ok"):
        log("ERROR: onnxruntime and PyTorch disagree (see above)")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
