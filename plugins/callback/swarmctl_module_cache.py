# Keep the modules Ansible builds for the hosts (AnsiballZ payloads) from one run to the next.
from __future__ import annotations

DOCUMENTATION = r"""
name: swarmctl_module_cache
type: aggregate
short_description: Reuse the module payloads built by earlier runs while their sources are unchanged
description:
  - Before it sends a module to a host, Ansible zips the module with every C(module_utils) file it
    imports (AnsiballZ). It keeps that zip for the rest of the run only, so each run builds every
    module it uses again. Here that is about 0.3 s of CPU per module on the control machine, paid
    on the critical path of the first task that uses it, about a quarter of a no-change C(site.yml).
  - This plugin copies the payloads of the run into a store when the play ends, and hands them to
    the next run before its first task. A stored payload is used only by a run whose module
    sources are exactly those it was built from; the store is keyed by a digest of the
    ansible-core version and installation, and the bytes of every file in this collection's
    C(plugins) folder, the configured module and module_utils paths, the roles' C(library) and C(module_utils) directories and the
    playbook directory's. Any edit, upgrade or other checkout gets its own key, so a stale payload
    can never be sent.
  - Only payloads of C(ansible.builtin) modules, of modules found on those paths and of this
    plugin's own collection (whose C(plugins) folder is part of the key) are kept; other
    collections' modules are left to Ansible. The newest keys are kept, older ones removed.
  - With O(bytecode), a kept payload also carries each of its Python files compiled by the control
    machine's Python (checked hash-based C(.pyc), PEP 552). A host whose Python is the same version
    imports them instead of compiling the sources again on every module run (Python does not
    cache bytecode for a zip); a host with another version finds the wrong magic number and
    compiles the sources as before, and a C(.pyc) whose source differs is never used.
options:
  path:
    description: Directory of the store (made 0700).
    default: ~/.cache/swarmctl/modules
    env:
      - name: SWARMCTL_MODULE_CACHE
    ini:
      - section: swarmctl_module_cache
        key: path
    type: path
  keep:
    description: How many keys (source versions) the store keeps.
    default: 3
    ini:
      - section: swarmctl_module_cache
        key: keep
    type: int
  bytecode:
    description: Add compiled bytecode to kept payloads (see above).
    default: true
    env:
      - name: SWARMCTL_MODULE_CACHE_BYTECODE
    ini:
      - section: swarmctl_module_cache
        key: bytecode
    type: bool
"""

import base64
import dataclasses
import glob
import hashlib
import importlib.util
import io
import marshal
import os
import shutil
import stat
import tempfile
import zipfile

import ansible
from ansible import constants as C
from ansible.plugins.callback import CallbackBase

# Where ansible-core 2.19 keeps a run's payloads, and which of their names this plugin may keep.
RUN_CACHE_SUBDIR = "ansiballz_cache"
# This plugin's collection (ansible_collections.<ns>.<name>.), whose modules it keeps too.
OWN_COLLECTION = ".".join(__name__.split(".")[:3]) + "." if __name__.startswith("ansible_collections.") else None
KEPT_PREFIXES = ("ansible.legacy.", "ansible.modules.") + ((OWN_COLLECTION,) if OWN_COLLECTION else ())
OWN_PLUGINS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def source_digest(directories, salt=""):
    """A digest of every file under the given directories (names and bytes), plus salt."""
    digest = hashlib.sha256(salt.encode())
    for directory in sorted({os.path.abspath(d) for d in directories if d and os.path.isdir(d)}):
        digest.update(b"\0dir\0" + directory.encode())
        for root, dirs, files in os.walk(directory):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = os.path.join(root, name)
                digest.update(b"\0file\0" + os.path.relpath(path, directory).encode() + b"\0")
                with open(path, "rb") as source:
                    digest.update(source.read())
    return digest.hexdigest()


def ansible_salt():
    """ansible-core's version and where (and when) it was installed: its own module_utils go into every payload."""
    package = os.path.dirname(os.path.abspath(ansible.__file__))
    stamp = os.stat(os.path.join(package, "module_utils", "basic.py"))
    return f"{ansible.__version__}\0{package}\0{stamp.st_mtime_ns}\0{stamp.st_size}"


def source_directories(playbook_dir=None):
    dirs = [OWN_PLUGINS] + list(C.DEFAULT_MODULE_PATH or []) + list(C.DEFAULT_MODULE_UTILS_PATH or [])
    for roles in C.DEFAULT_ROLES_PATH or []:
        dirs += glob.glob(os.path.join(roles, "*", "library")) + glob.glob(os.path.join(roles, "*", "module_utils"))
    if playbook_dir:
        dirs += [os.path.join(playbook_dir, "library"), os.path.join(playbook_dir, "module_utils")]
    return dirs


def _kept(name):
    return name.startswith(KEPT_PREFIXES) and not name.endswith((".lock", "-part"))


def untrusted(path):
    """Why a store at path cannot be trusted, or None. Its payloads are pickles, that is code this user's
    Ansible runs: the store and every folder above it must be writable by this user (or root) alone, apart
    from sticky folders such as /tmp, where others cannot rename what is not theirs."""
    uid = os.getuid()
    path = os.path.abspath(path)
    while True:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            return f"{path} is a symbolic link"
        if st.st_uid not in (uid, 0):
            return f"{path} belongs to another user (uid {st.st_uid})"
        if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            return f"{path} can be written by other users (mode {stat.S_IMODE(st.st_mode):o})"
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _own_file(path):
    st = os.lstat(path)
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def restore(stored, run_cache):
    """Copy stored payloads into this run's cache; returns how many. Only files that are this user's alone."""
    if not os.path.isdir(stored) or untrusted(stored):
        return 0
    os.makedirs(run_cache, exist_ok=True)
    count = 0
    for name in os.listdir(stored):
        target = os.path.join(run_cache, name)
        if _kept(name) and not os.path.exists(target) and _own_file(os.path.join(stored, name)):
            _copy_atomically(os.path.join(stored, name), target)
            count += 1
    os.utime(stored)  # the key is in use: the newest are the ones pruning keeps
    return count


def save(run_cache, stored, bytecode=False):
    """Copy this run's new payloads into the store (with bytecode added if asked); returns how many."""
    if not os.path.isdir(run_cache):
        return 0
    os.makedirs(stored, mode=0o700, exist_ok=True)
    count = 0
    for name in os.listdir(run_cache):
        target = os.path.join(stored, name)
        if _kept(name) and not os.path.exists(target):
            if bytecode:
                _store_with_bytecode(os.path.join(run_cache, name), target)
            else:
                _copy_atomically(os.path.join(run_cache, name), target)
            count += 1
    return count


def with_bytecode(zip_bytes):
    """The zip with a checked hash-based .pyc beside each .py (zipimport prefers it while its hash matches)."""
    source = zipfile.ZipFile(io.BytesIO(zip_bytes))
    names = set(source.namelist())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, data)
            if info.filename.endswith(".py") and info.filename + "c" not in names:
                compiled = zipfile.ZipInfo(info.filename + "c", date_time=info.date_time)
                compiled.compress_type = info.compress_type
                target.writestr(compiled, checked_hash_pyc(data, info.filename))
    return out.getvalue()


def checked_hash_pyc(source, filename):
    """PEP 552: magic, flags (hash-based, checked), the source's hash, the marshalled code."""
    code = compile(source, filename, "exec", dont_inherit=True)
    flags = (0b11).to_bytes(4, "little")
    return importlib.util.MAGIC_NUMBER + flags + importlib.util.source_hash(source) + marshal.dumps(code)


def _store_with_bytecode(source, target):
    from ansible.executor.module_common import _CachedModule

    cached = _CachedModule.load(source)
    zip_bytes = with_bytecode(base64.b64decode(cached.zip_data))
    cached = dataclasses.replace(cached, zip_data=base64.b64encode(zip_bytes))
    fd, partial = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".part-")
    os.close(fd)
    try:
        cached.dump(partial)  # writes partial + "-part", then renames it to partial
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    finally:
        for leftover in (partial, partial + "-part"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def prune(store, keep):
    """Remove all but the `keep` most recently used keys."""
    if not os.path.isdir(store):
        return
    keys = [os.path.join(store, k) for k in os.listdir(store) if os.path.isdir(os.path.join(store, k))]
    keys.sort(key=os.path.getmtime, reverse=True)
    for old in keys[max(keep, 1):]:
        shutil.rmtree(old, ignore_errors=True)


def _copy_atomically(source, target):
    fd, partial = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        os.replace(partial, target)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "swarmctl_module_cache"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stored = None

    def v2_playbook_on_start(self, playbook):
        # A cache must never fail a run: on any trouble the run builds its modules as usual.
        try:
            store = os.path.expanduser(self.get_option("path"))
            os.makedirs(store, mode=0o700, exist_ok=True)
            problem = untrusted(store)
            if problem:
                self._display.warning(f"swarmctl_module_cache: not using {store}: {problem}")
                return
            key = source_digest(source_directories(getattr(playbook, "_basedir", None)), ansible_salt())
            self._stored = os.path.join(store, key[:24])
            count = restore(self._stored, self._run_cache())
            self._display.vvv(f"swarmctl_module_cache: {count} module payloads from {self._stored}")
        except Exception as error:  # noqa: BLE001
            self._stored = None
            self._display.vvv(f"swarmctl_module_cache: not used ({error})")

    def v2_playbook_on_stats(self, stats):
        if not self._stored:
            return
        try:
            count = save(self._run_cache(), self._stored, bytecode=self.get_option("bytecode"))
            prune(os.path.dirname(self._stored), self.get_option("keep"))
            self._display.vvv(f"swarmctl_module_cache: {count} new module payloads kept in {self._stored}")
        except Exception as error:  # noqa: BLE001
            self._display.vvv(f"swarmctl_module_cache: not saved ({error})")

    @staticmethod
    def _run_cache():
        return os.path.join(C.DEFAULT_LOCAL_TMP, RUN_CACHE_SUBDIR)
