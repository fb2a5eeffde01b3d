"""Every `python airflow` block of docs/airflow.md runs, in the Airflow environment.

The main suite runs the docs' `python` blocks where Airflow is not installed, so this page's
blocks carry their own fence tag and run here: each is a DAG file that Airflow's parser must
import without errors (which checks its literal inputs), the test connector installed as in the
other tests.
"""

from __future__ import annotations

import re

import pytest
from airflow_support import ROOT, SKIP_REASON

pytest.importorskip("airflow.sdk", reason=SKIP_REASON)

PAGE = ROOT / "docs" / "airflow.md"
FENCE = re.compile(r"^```python airflow[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
BLOCKS = [
    (f"docs/airflow.md:{PAGE.read_text().count(chr(10), 0, m.start()) + 1}", m.group(1))
    for m in FENCE.finditer(PAGE.read_text())
]


def test_the_page_has_its_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize(("block_id", "code"), BLOCKS, ids=[block_id for block_id, _ in BLOCKS])
def test_the_block_is_a_dag_file_that_imports(block_id, code, tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    (tmp_path / "block.py").write_text(code)
    bag = DagBag(str(tmp_path), safe_mode=False)
    assert bag.import_errors == {}, f"{block_id}: {bag.import_errors}"
    assert len(bag.dag_ids) == 1, block_id
