"""The page's script and style ship in the wheel, and an installed package serves them."""

from __future__ import annotations

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
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True)
    (built,) = out.glob("zhipu_connector-*.whl")
    return built


def test_the_wheel_carries_the_static_assets(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for asset in ("forms.js", "forms.css"):
        packed = zipfile.ZipFile(wheel).read(f"zhipu_connector/forms/static/{asset}")
        assert packed == (ROOT / "zhipu_connector" / "forms" / "static" / asset).read_bytes()
    assert "zhipu_connector/forms/server.py" in names


def test_an_installed_package_prints_a_page_with_its_assets(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = ("import zhipu_connector.forms.html as h, sys; from zhipu_connector.cli import main;"
            "print(h.__file__, file=sys.stderr); sys.exit(main(['form', 'ask', '--format', 'html']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().startswith(str(target))
    assert "function evaluateCondition" in result.stdout and ".zc-field" in result.stdout
