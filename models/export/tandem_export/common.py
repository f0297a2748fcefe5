"""Shared basics of the export tooling: errors, logging, JSON files, optional imports, manifest names."""

from __future__ import annotations

import contextlib
import importlib
import json
import time
from pathlib import Path

MANIFEST_NAME = "tandem.json"
MANIFEST_FORMAT = "tandem-v1"


class ExportError(RuntimeError):
    """A problem with the inputs or the environment, reported without a traceback."""


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def log(msg: str) -> None:
    """Print immediately (the remote runner buffers otherwise)."""
    print(msg, flush=True)


@contextlib.contextmanager
def timed(step: str):
    """Print how long a step took, so slow stages are visible in remote logs."""
    start = time.perf_counter()
    log(f"[step] {step} ...")
    try:
        yield
    finally:
        log(f"[time] {step}: {time.perf_counter() - start:.2f} s")


def require(module: str, purpose: str):
    """Import a module or fail with a message naming the pip package."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on environment
        pip_name = {
            "onnxruntime.transformers.optimizer": "onnxruntime",
            "onnxruntime.transformers.fusion_options": "onnxruntime",
        }.get(module, module.split(".")[0])
        raise ExportError(
            f"Python package '{pip_name}' is needed for {purpose} but could not be imported "
            f"({exc}). Install it (see models/export/README.md for versions known to work)."
        ) from exc


def read_json(path: Path) -> dict:
    """Read a JSON file with a clear error if it is missing or malformed."""
    if not path.is_file():
        raise ExportError(f"missing file: {path}")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path} is not valid JSON: {exc}") from exc


def write_json(path: Path, obj, indent: int = 2) -> None:
    """Write UTF-8 JSON (non-ASCII kept readable) with a trailing newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, indent=indent)
        fh.write("\n")


def human_size(n: int) -> str:
    """Format a byte count for the logs."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024.0
    return f"{n} B"


def unique_ids(values):
    """Deduplicate while keeping order (cls/eos/pad/unk may coincide in odd tokenizers)."""
    seen, out = set(), []
    for v in values:
        if v not in seen:
            seen.add(v)
            out.append(int(v))
    return out
