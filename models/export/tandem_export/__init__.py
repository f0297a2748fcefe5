"""Tandem's ONNX export tooling: Hugging Face checkpoints -> the ONNX folders the Tandem server loads.

One module per job:

  common       errors, logging, JSON files, optional imports, manifest names
  hub_io       Hugging Face folders: config.json, tokenizer files, checkpoint weights (numpy)
  modules      PyTorch: transformers models, FlagEmbedding heads, the wrapper modules to trace
  onnx_io      saving (external data over 1.9 GB), checking and inspecting ONNX graphs
  onnx_export  the export commands (export-m3, export-plain, export-reranker, export-packed)
  optimize     onnxruntime's transformer optimizer and fp16 conversion
  packed_graph the padding-free XLM-R graph, written node by node
  verify       onnxruntime vs PyTorch on the same batches; session and lexical-weight helpers
  fixtures     regenerates models/src/test/resources/fixtures (make_fixtures.py runs it)
  cli          `python -m tandem_export` / `tandem-export`

Importing the package needs only the standard library; every module imports numpy, torch,
transformers, onnx, onnxruntime or tokenizers when a function needs them (packed_graph needs numpy).
"""

import os

# No network on the export machines: make Hugging Face libraries fail fast instead of trying to
# reach the hub, and keep the Rust tokenizer single-threaded so that its results do not depend on
# thread scheduling.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

__version__ = "0.1.0"
