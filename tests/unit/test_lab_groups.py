"""The suite's grouping of lab tests for pytest-xdist works with the pytest and xdist installed: every test of
one lab runs in one worker process (a lab brought up twice would be torn down under the other's tests)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_each_labs_tests_run_in_one_worker(tmp_path):
    (tmp_path / "conftest.py").write_text(textwrap.dedent(f"""
        import importlib.util, sys
        import pytest
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
        spec = importlib.util.spec_from_file_location("lab_conftest", {str(ROOT / "tests" / "lab" / "conftest.py")!r})
        lab_conftest = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(lab_conftest)
        pytest_collection_modifyitems = lab_conftest.pytest_collection_modifyitems

        @pytest.fixture(scope="session")
        def shared_lab():
            return "shared"

        @pytest.fixture(scope="session")
        def ha_lab():
            return "ha"
    """))
    (tmp_path / "test_where.py").write_text(textwrap.dedent("""
        import json, os, time
        import pytest

        def note(lab):
            with open("where.jsonl", "a") as out:
                out.write(json.dumps([lab, os.environ.get("PYTEST_XDIST_WORKER")]) + "\\n")
            time.sleep(0.05)

        @pytest.mark.parametrize("i", range(6))
        def test_on_shared(shared_lab, i):
            note(shared_lab)

        @pytest.mark.parametrize("i", range(6))
        def test_on_ha(ha_lab, i):
            note(ha_lab)

        @pytest.mark.parametrize("i", range(6))
        def test_anywhere(i):
            note("none")
    """))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist",
                           "loadgroup", "test_where.py"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = [json.loads(line) for line in (tmp_path / "where.jsonl").read_text().splitlines()]
    workers = {lab: {w for name, w in seen if name == lab} for lab in ("shared", "ha", "none")}
    assert len(workers["shared"]) == 1 and len(workers["ha"]) == 1, workers
    assert workers["none"] <= {"gw0", "gw1"} and len(seen) == 18
