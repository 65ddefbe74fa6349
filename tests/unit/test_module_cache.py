"""The callback that keeps AnsiballZ payloads between runs (plugins/callback/swarmctl_module_cache.py)."""

import importlib.util
import io
import marshal
import os
import subprocess
import sys
import zipfile
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "plugins" / "callback" / "swarmctl_module_cache.py"
_SPEC = importlib.util.spec_from_file_location("swarmctl_module_cache", _PATH)
cache = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(cache)


def _tree(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_the_key_changes_with_any_module_source_and_with_ansible(tmp_path):
    modules = _tree(tmp_path / "modules", {"a.py": "x = 1\n", "b.py": "y = 2\n"})
    utils = _tree(tmp_path / "module_utils", {"u.py": "z = 3\n"})
    key = cache.source_digest([modules, utils], "2.19.4")
    assert cache.source_digest([utils, modules], "2.19.4") == key  # order of the paths does not matter
    (utils / "u.py").write_text("z = 4\n")
    assert cache.source_digest([modules, utils], "2.19.4") != key
    (utils / "u.py").write_text("z = 3\n")
    assert cache.source_digest([modules, utils], "2.19.4") == key
    (modules / "c.py").write_text("")
    assert cache.source_digest([modules, utils], "2.19.4") != key
    (modules / "c.py").unlink()
    assert cache.source_digest([modules, utils], "2.19.5") != key
    assert cache.source_digest([modules, utils, tmp_path / "missing"], "2.19.4") == key


def test_payloads_go_to_the_store_and_back_but_not_locks_or_collection_modules(tmp_path):
    run = _tree(tmp_path / "run1", {
        "ansible.legacy.swarmctl_service-ZIP_DEFLATED-none": "payload",
        "ansible.modules.copy-ZIP_DEFLATED-none": "copy",
        "ansible.legacy.swarmctl_service-ZIP_DEFLATED-none.lock": "",
        "ansible_collections.community.docker.plugins.modules.x-ZIP_DEFLATED-none": "other",
    })
    stored = tmp_path / "store" / "key"
    assert cache.save(run, stored) == 2
    assert sorted(os.listdir(stored)) == ["ansible.legacy.swarmctl_service-ZIP_DEFLATED-none",
                                          "ansible.modules.copy-ZIP_DEFLATED-none"]
    assert oct(stored.stat().st_mode & 0o777) == "0o700"
    assert cache.save(run, stored) == 0  # already kept
    next_run = tmp_path / "run2"
    assert cache.restore(stored, next_run) == 2
    assert (next_run / "ansible.legacy.swarmctl_service-ZIP_DEFLATED-none").read_text() == "payload"
    assert cache.restore(tmp_path / "store" / "other-key", tmp_path / "run3") == 0


def test_prune_keeps_the_most_recently_used_keys(tmp_path):
    for age, key in enumerate(["new", "mid", "old", "oldest"]):
        (tmp_path / key).mkdir()
        os.utime(tmp_path / key, (1_000_000 - age * 100, 1_000_000 - age * 100))
    cache.prune(tmp_path, 2)
    assert sorted(os.listdir(tmp_path)) == ["mid", "new"]


def _zip(files):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return out.getvalue()


def _import_from(zip_path, code):
    return subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(zip_path)!r}); {code}"],
                          capture_output=True, text=True)


def _replaced(zip_bytes, replacements):
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as z, zipfile.ZipFile(out, "w") as target:
        for info in z.infolist():
            target.writestr(info, replacements.get(info.filename, z.read(info)))
    return out.getvalue()


def test_bytecode_is_used_while_it_matches_its_source_and_never_once_the_source_differs(tmp_path):
    source = b"VALUE = 'from source'\n"
    enhanced = cache.with_bytecode(_zip({"pkg/__init__.py": "", "pkg/mod.py": source}))
    assert {"pkg/__init__.pyc", "pkg/mod.pyc"} <= set(zipfile.ZipFile(io.BytesIO(enhanced)).namelist())
    payload = tmp_path / "payload.zip"
    payload.write_bytes(enhanced)
    plain = _import_from(payload, "import pkg.mod; print(pkg.mod.VALUE)")
    assert plain.stdout.strip() == "from source", plain.stderr

    # Bytecode that says something else under the hash of the same source: Python runs the bytecode.
    pyc = zipfile.ZipFile(io.BytesIO(enhanced)).read("pkg/mod.pyc")
    marked = pyc[:16] + marshal.dumps(compile("VALUE = 'from bytecode'", "pkg/mod.py", "exec"))
    payload.write_bytes(_replaced(enhanced, {"pkg/mod.pyc": marked}))
    used = _import_from(payload, "import pkg.mod; print(pkg.mod.VALUE)")
    assert used.stdout.strip() == "from bytecode", used.stderr

    # The same bytecode beside an edited source: the hash no longer matches and the source is compiled.
    payload.write_bytes(_replaced(enhanced, {"pkg/mod.pyc": marked, "pkg/mod.py": b"VALUE = 'edited'\n"}))
    edited = _import_from(payload, "import pkg.mod; print(pkg.mod.VALUE)")
    assert edited.stdout.strip() == "edited", edited.stderr


def test_bytecode_of_another_python_is_ignored(tmp_path):
    enhanced = cache.with_bytecode(_zip({"other.py": "VALUE = 1\n"}))
    pyc = zipfile.ZipFile(io.BytesIO(enhanced)).read("other.pyc")
    payload = tmp_path / "payload.zip"
    payload.write_bytes(_replaced(enhanced, {"other.pyc": b"\x00\x00" + pyc[2:]}))
    result = _import_from(payload, "import other; print(other.VALUE)")
    assert result.stdout.strip() == "1", result.stderr


def test_a_store_others_can_write_to_is_refused(tmp_path):
    """Payloads are pickles (code): a store, or a folder above it, that others can write to is not used."""
    store = tmp_path / "store"
    (store / "key").mkdir(parents=True)
    os.chmod(tmp_path, 0o755)
    os.chmod(store, 0o700)
    assert cache.untrusted(str(store)) is None
    os.chmod(store, 0o777)
    assert "can be written by other users" in cache.untrusted(str(store))
    os.chmod(store, 0o700)
    os.chmod(tmp_path, 0o777)  # a folder above it: the store itself could be swapped
    assert "can be written by other users" in cache.untrusted(str(store / "key"))
    os.chmod(tmp_path, 0o1777)  # sticky, as /tmp: others cannot rename what is not theirs
    assert cache.untrusted(str(store)) is None
    os.chmod(tmp_path, 0o755)
    link = tmp_path / "link"
    link.symlink_to(store)
    assert "symbolic link" in cache.untrusted(str(link))


def test_restore_takes_only_files_that_are_this_users_alone(tmp_path):
    stored = tmp_path / "stored"
    stored.mkdir(mode=0o700)
    os.chmod(tmp_path, 0o755)
    for name in ("ansible.legacy.a-ZIP_DEFLATED-", "ansible.legacy.b-ZIP_DEFLATED-"):
        (stored / name).write_bytes(b"payload")
        os.chmod(stored / name, 0o600)
    os.chmod(stored / "ansible.legacy.b-ZIP_DEFLATED-", 0o666)
    run = tmp_path / "run"
    assert cache.restore(str(stored), str(run)) == 1
    assert sorted(os.listdir(run)) == ["ansible.legacy.a-ZIP_DEFLATED-"]
