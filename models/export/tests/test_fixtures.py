"""The fixtures share one tokenizer.json: the committed folders link to it, and the writer links."""

from __future__ import annotations

import os

import pytest

from conftest import FIXTURES, SHARED_TOKENIZER
from tandem_export.common import ExportError
from tandem_export.fixtures import FIXTURE_DIRS, link_shared_tokenizer


@pytest.mark.parametrize("name", FIXTURE_DIRS)
def test_committed_fixture_folders_link_the_shared_tokenizer(name):
    path = FIXTURES / name / "tokenizer.json"
    assert path.is_symlink(), f"{path} should be a link to ../tokenizer.json"
    assert os.readlink(path) == "../tokenizer.json"
    assert path.resolve() == SHARED_TOKENIZER.resolve()


def test_link_shared_tokenizer(tmp_path):
    (tmp_path / "tokenizer.json").write_bytes(SHARED_TOKENIZER.read_bytes())
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "tokenizer.json").write_bytes(SHARED_TOKENIZER.read_bytes())
    (tmp_path / "c").mkdir()
    assert link_shared_tokenizer(tmp_path, ["a", "b", "c"]) == ["a", "b"]
    assert os.readlink(tmp_path / "a" / "tokenizer.json") == "../tokenizer.json"
    assert link_shared_tokenizer(tmp_path, ["a", "b"]) == []  # already links
    (tmp_path / "c" / "tokenizer.json").write_text("{}")
    with pytest.raises(ExportError, match="differs"):
        link_shared_tokenizer(tmp_path, ["c"])
