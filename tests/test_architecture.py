"""The floors of docs/architecture.md, held by import-linter's contract in .importlinter:
the test suite fails on an import that goes the wrong way."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("nap", "harvesters", "exporters", "demo_cpo")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    # The tree comes first on the path, so the contract is checked on its copy of the code.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
                          cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_the_code_keeps_its_floors():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_wrong_way_import_fails_the_contract(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("static", "templates"))
    shutil.copy(ROOT / ".importlinter", tmp_path)
    writer = tmp_path / "nap" / "store" / "writer.py"
    # The store reaching up into a harvester: the kind of break the floors exist to stop,
    # hidden inside a function as such imports tend to be.
    writer.write_text(writer.read_text() + "\n\ndef _planted():\n    import harvesters.harvest  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert "nap.store.writer -> harvesters.harvest" in result.stdout
