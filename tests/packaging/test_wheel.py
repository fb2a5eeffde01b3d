"""The wheel carries connector.yaml and schemas/: an installed package works without the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("zhipu_connector-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel unpacked alone into a directory that comes first on sys.path."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-compile",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    return target


def run_installed(installed: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    return subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True)


def test_the_wheel_ships_the_definition_and_schemas(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "zhipu_connector/_data/connector.yaml" in names
    assert "zhipu_connector/_data/schemas/component.schema.json" in names
    assert "zhipu_connector/_data/schemas/workflow.schema.json" in names
    assert any(n.startswith("zhipu_connector/_data/examples/workflows/") for n in names)
    assert "zhipu_connector/core/core.yaml" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "zhipu-connector = zhipu_connector.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_package_finds_its_files_without_the_source_tree(installed, tmp_path):
    probe = run_installed(
        installed,
        tmp_path,
        "-c",
        "import zhipu_connector, json; from zhipu_connector.resources import data_path;"
        "print(json.dumps([zhipu_connector.__file__, str(data_path('connector.yaml'))]))",
    )
    assert probe.returncode == 0, probe.stderr
    package_file, definition = json.loads(probe.stdout)
    assert package_file.startswith(str(installed)) and definition.startswith(str(installed))
    validate = run_installed(installed, tmp_path, "-m", "zhipu_connector.cli", "validate")
    assert validate.returncode == 0, validate.stderr
    assert validate.stdout.startswith("ok: zhipu v1")
    docs = run_installed(installed, tmp_path, "-m", "zhipu_connector.cli", "docs")
    assert docs.stdout == (ROOT / "docs" / "reference" / "zhipu.md").read_text(encoding="utf-8")


def test_the_wheel_carries_the_form_page_assets(wheel):
    archive = zipfile.ZipFile(wheel)
    for asset in ("forms.js", "forms.css"):
        packed = archive.read(f"zhipu_connector/forms/static/{asset}")
        assert packed == (ROOT / "zhipu_connector" / "forms" / "static" / asset).read_bytes()


def test_an_installed_package_prints_a_form_page_with_its_assets(installed, tmp_path):
    result = run_installed(installed, tmp_path, "-m", "zhipu_connector.cli", "form", "ask", "--format", "html")
    assert result.returncode == 0, result.stderr
    assert "function evaluateCondition" in result.stdout and ".zc-field" in result.stdout


def test_the_installed_demo_finds_its_example_workflows(installed, tmp_path):
    probe = run_installed(
        installed,
        tmp_path,
        "-c",
        "from zhipu_connector.workflow.examples import example_workflows;"
        "print(*[str(p) for p in example_workflows()], sep='\\n')",
    )
    assert probe.returncode == 0, probe.stderr
    found = probe.stdout.split()
    assert found and all(path.startswith(str(installed)) for path in found)
    assert {Path(p).name for p in found} == {p.name for p in (ROOT / "examples" / "workflows").iterdir()}
