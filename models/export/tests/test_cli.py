"""Argument parsing of every subcommand (the flags the docs and bench scripts use), and --help
without any heavy package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tandem_export.cli import build_parser, main

EXPORT_DIR = Path(__file__).resolve().parents[1]


def parse(*argv):
    return build_parser().parse_args(list(argv))


def test_export_m3_all_flags():
    a = parse("export-m3", "--model", "m", "--out", "o", "--no-verify", "--atol", "1e-3", "--rtol", "2e-3",
              "--fp16", "--optimize", "--opt-level", "2", "--max-length", "512", "--dynamo", "--source", "BAAI/bge-m3")
    assert (a.command, a.model, a.out) == ("export-m3", Path("m"), Path("o"))
    assert a.no_verify and a.fp16 and a.optimize and a.dynamo
    assert (a.atol, a.rtol, a.opt_level, a.max_length, a.source) == (1e-3, 2e-3, 2, 512, "BAAI/bge-m3")


def test_export_m3_defaults():
    a = parse("export-m3", "--model", "m", "--out", "o")
    assert not (a.no_verify or a.fp16 or a.optimize or a.dynamo)
    assert (a.atol, a.rtol, a.opt_level, a.max_length, a.source) == (None, None, 0, None, None)


def test_export_plain_takes_no_optimizer_flags():
    a = parse("export-plain", "--model", "m", "--out", "o", "--no-verify", "--atol", "1", "--rtol", "2")
    assert a.no_verify and (a.atol, a.rtol) == (1.0, 2.0)
    for flag in ("--fp16", "--optimize", "--dynamo", "--source"):
        with pytest.raises(SystemExit):
            parse("export-plain", "--model", "m", "--out", "o", flag)


def test_export_reranker_all_flags():
    a = parse("export-reranker", "--model", "m", "--out", "o", "--fp16", "--optimize", "--opt-level", "99",
              "--max-length", "8192", "--dynamo", "--no-verify", "--atol", "0.1", "--rtol", "0.2")
    assert a.fp16 and a.optimize and a.dynamo and a.no_verify and (a.opt_level, a.max_length) == (99, 8192)
    with pytest.raises(SystemExit):
        parse("export-reranker", "--model", "m", "--out", "o", "--source", "x")


def test_export_packed_all_flags_and_defaults():
    a = parse("export-packed", "--model", "m", "--out", "o")
    assert (a.kind, a.attention, a.fp32, a.max_length, a.source) == (None, "packed", False, None, None)
    a = parse("export-packed", "--model", "m", "--out", "o", "--kind", "reranker", "--attention", "portable",
              "--fp32", "--max-length", "64", "--source", "s")
    assert (a.kind, a.attention, a.fp32, a.max_length, a.source) == ("reranker", "portable", True, 64, "s")
    for bad in (("--kind", "bert"), ("--attention", "flash"), ("--no-verify",)):
        with pytest.raises(SystemExit):
            parse("export-packed", "--model", "m", "--out", "o", *bad)


def test_verify_flags():
    a = parse("verify", "--onnx-dir", "d", "--model", "m", "--atol", "1e-2", "--rtol", "1e-3")
    assert (a.onnx_dir, a.model, a.atol, a.rtol) == (Path("d"), Path("m"), 1e-2, 1e-3)


@pytest.mark.parametrize("argv", [[], ["export-m3"], ["export-m3", "--model", "m"], ["verify", "--model", "m"],
                                  ["export-m3", "--model", "m", "--out", "o", "--opt-level", "3"], ["nope"]])
def test_bad_arguments_exit_2(argv):
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2


def test_missing_model_folder_is_exit_1(tmp_path, capsys):
    assert main(["export-packed", "--model", str(tmp_path / "absent"), "--out", str(tmp_path / "o")]) == 1
    assert "model folder not found" in capsys.readouterr().out


@pytest.mark.parametrize("cmd", [["-m", "tandem_export"], [str(EXPORT_DIR / "tandem_export.py")],
                                 [str(EXPORT_DIR / "make_fixtures.py")], [str(EXPORT_DIR / "check_m3_golden.py")]])
def test_help_runs_without_heavy_packages(cmd):
    """--help of every entry point, with torch/transformers/onnx/onnxruntime/numpy blocked."""
    block = ("import sys\n"
             "class Block:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name.split('.')[0] in ('torch', 'transformers', 'onnx', 'onnxruntime', 'numpy', 'tokenizers'):\n"
             "            raise ImportError('blocked: ' + name)\n"
             "sys.meta_path.insert(0, Block())\n"
             "import runpy\n"
             f"sys.argv = {cmd[-1:]!r} + ['--help']\n")
    if cmd[0] == "-m":
        block += "runpy.run_module('tandem_export', run_name='__main__', alter_sys=True)\n"
    else:
        block += f"sys.path.insert(0, {str(EXPORT_DIR)!r})\nrunpy.run_path({cmd[0]!r}, run_name='__main__')\n"
    res = subprocess.run([sys.executable, "-c", block], cwd=EXPORT_DIR, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "usage:" in res.stdout
