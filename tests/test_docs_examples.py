"""Every ```python block of README.md and docs/*.md runs, against the emulator.

Each block runs on its own in a fresh interpreter, in an empty folder that sees the
repository's `examples/`, with `ZHIPUAI_API_KEY` and `ZHIPUAI_BASE_URL` pointing at an emulator
on loopback — the variables the Zhipu definition declares, so a block reads its connection as
a user's program would. Proxies point nowhere and only loopback bypasses them, so a block that
tried the real platform would fail instead of reaching it. A block that is deliberately a
fragment says so on the line before its fence: `<!-- not run: the reason -->`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KEY = "docs7e1.examplesRunAgainstTheEmulator"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
NOT_RUN = re.compile(r"<!-- not run: (?P<reason>[^>]*\S)\s*-->\s*$")


def python_blocks() -> list[tuple[str, str, str | None]]:
    """(id, code, reason it is not run or None) for each block, in page order."""
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip("\n").rpartition("\n")[2]
            skipped = NOT_RUN.search(before)
            blocks.append((f"{page.relative_to(ROOT)}:{line}", match.group(1), skipped and skipped["reason"]))
    return blocks


BLOCKS = python_blocks()


@pytest.fixture(scope="module")
def emulator():
    from zhipu_connector.emulator import EmulatorConfig, running_emulator

    with running_emulator(EmulatorConfig(api_keys=frozenset({KEY}))) as base_url:
        yield base_url


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    return tmp_path


def test_the_pages_have_examples_and_few_are_fragments():
    assert len(BLOCKS) >= 8
    fragments = [block_id for block_id, _, reason in BLOCKS if reason]
    assert len(fragments) <= 2, f"too many blocks that do not run: {fragments}"


@pytest.mark.parametrize("block_id, code, reason", BLOCKS, ids=[block[0] for block in BLOCKS])
def test_the_example_runs(block_id, code, reason, emulator, workdir):
    if reason:
        pytest.skip(f"marked as not run: {reason}")
    env = {
        **os.environ,
        "ZHIPUAI_API_KEY": KEY,
        "ZHIPUAI_BASE_URL": emulator,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)]),
        "ZHIPU_CONNECTOR_LOAD_PLUGINS": "",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "ALL_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"{block_id} failed:\n{result.stderr[-3000:]}"
    assert KEY not in result.stdout + result.stderr
