# Host-side helpers for swarmctl's modules: files kept at a given content and mode, Debian packages,
# systemd units. Each helper honours check mode and reports whether it changed (or would change)
# anything, so a module built from them is idempotent and honest about `changed`.

from __future__ import annotations

import grp
import os
import pwd
import tempfile
import time


class HostChanges:
    """What a module changed on the host, in order; `diff` collects before/after for diff mode."""

    def __init__(self, module):
        self.module = module
        self.actions: list[str] = []
        self.before: dict = {}
        self.after: dict = {}

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    def add(self, action: str) -> None:
        self.actions.append(action)

    def diff(self) -> dict:
        return {"before": self.before, "after": self.after}

    # -- files -----------------------------------------------------------------------------------
    def file(self, path: str, content: bytes | str, mode: int = 0o644, owner: str = "root", group: str = "root",
             secret: bool = False) -> bool:
        """Keep path at content, mode and owner. Secret contents never appear in the diff."""
        data = content.encode() if isinstance(content, str) else content
        try:
            with open(path, "rb") as handle:
                current = handle.read()
        except FileNotFoundError:
            current = None
        changed = current != data
        if changed:
            self.add(f"wrote {path}")
            if not secret:
                self.before[path] = current.decode(errors="replace") if current is not None else None
                self.after[path] = data.decode(errors="replace")
            if not self.module.check_mode:
                _atomic_write(path, data, mode, owner, group)
                return True
        if current is not None and self._attributes(path, mode, owner, group):
            changed = True
        return changed

    def absent(self, path: str) -> bool:
        """Remove the file at path, if there is one."""
        if not os.path.lexists(path):
            return False
        self.add(f"removed {path}")
        if not self.module.check_mode:
            os.unlink(path)
        return True

    def directory(self, path: str, mode: int = 0o755, owner: str = "root", group: str = "root") -> bool:
        if not os.path.isdir(path):
            self.add(f"made {path}")
            if not self.module.check_mode:
                os.makedirs(path, exist_ok=True)
                _chown(path, owner, group)
                os.chmod(path, mode)
            return True
        return self._attributes(path, mode, owner, group)

    def _attributes(self, path: str, mode: int, owner: str, group: str) -> bool:
        st = os.stat(path)
        uid, gid = _ids(owner, group)
        if (st.st_mode & 0o7777) == mode and st.st_uid == uid and st.st_gid == gid:
            return False
        self.add(f"set owner/mode of {path}")
        if not self.module.check_mode:
            os.chown(path, uid, gid)
            os.chmod(path, mode)
        return True

    # -- packages ----------------------------------------------------------------------------------
    def packages(self, names: list[str]) -> list[str]:
        """Install the Debian packages that are missing; returns them."""
        missing = missing_packages(self.module, names)
        if missing:
            self.add("installed " + " ".join(missing))
            if not self.module.check_mode:
                apt_install(self.module, missing)
        return missing

    # -- systemd ------------------------------------------------------------------------------------
    def service(self, unit: str, restart: bool = False, daemon_reload: bool = False, explain=None) -> None:
        """Keep unit enabled and active; restart it when asked (its configuration changed). explain: a function
        that says why the unit did not start (from its journal), for the failure's message."""
        if daemon_reload and not self.module.check_mode:
            systemctl(self.module, "daemon-reload")
        enabled = systemctl(self.module, "is-enabled", unit, check=False).strip() == "enabled"
        active = systemctl(self.module, "is-active", unit, check=False).strip() == "active"
        if not enabled:
            self.add(f"enabled {unit}")
            if not self.module.check_mode:
                systemctl(self.module, "enable", unit)
        verb = "start" if not active else "restart" if restart else None
        if verb is None:
            return
        self.add(f"{verb}ed {unit}")
        if self.module.check_mode:
            return
        # A unit that failed several times lately (an earlier run's bad configuration) is refused by systemd's
        # start limit until its failed state is cleared.
        systemctl(self.module, "reset-failed", unit, check=False)
        rc, out, err = self.module.run_command(["systemctl", verb, unit])
        if rc != 0:
            why = explain() if explain else (err or out).strip()
            self.module.fail_json(msg=f"systemctl {verb} {unit} failed: {why}", actions=self.actions)


def _ids(owner: str, group: str) -> tuple[int, int]:
    return pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid


def _chown(path: str, owner: str, group: str) -> None:
    uid, gid = _ids(owner, group)
    os.chown(path, uid, gid)


def _atomic_write(path: str, data: bytes, mode: int, owner: str, group: str) -> None:
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".swarmctl-")
    try:
        os.fchmod(fd, mode)
        uid, gid = _ids(owner, group)
        os.fchown(fd, uid, gid)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_in_place(path: str, data: bytes) -> None:
    """For files that may be bind mounts (a container's /etc/hosts), which a rename cannot replace."""
    with open(path, "r+b") as handle:
        handle.seek(0)
        handle.write(data)
        handle.truncate()


def missing_packages(module, names: list[str]) -> list[str]:
    """Those of names not installed. Debian's docker.io is never missing on a host whose engine is its own
    (own_engine): it is not installed over that engine."""
    if DEBIAN_ENGINE in names and own_engine(engine_owner(module)):
        names = [name for name in names if name != DEBIAN_ENGINE]
    missing = []
    for name in names:
        rc, out, dummy = module.run_command(["dpkg-query", "-W", "-f=${Status}", name])
        if rc != 0 or "install ok installed" not in out:
            missing.append(name)
    return missing


APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
# Another apt or dpkg may hold the lock: one left running by an interrupted run (its SSH session gone, it goes
# on), or the host's own unattended upgrades. Waiting for it is what finishes the job; failing is not.
APT_LOCK_WAIT_SECONDS = 600
APT_OPTS = ["-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
            "-o", f"DPkg::Lock::Timeout={APT_LOCK_WAIT_SECONDS}"]
_LOCKED = ("Could not get lock", "Unable to acquire the dpkg frontend lock", "Unable to lock")
_INTERRUPTED = "dpkg --configure -a"


# An install never removes a package: one that conflicts with what swarmctl installs (Docker's own docker-ce and
# containerd.io, podman-docker) is the host's. apt stops instead, and the run names what it would have removed.
NO_REMOVALS = ["--no-remove"]
_REMOVALS_REFUSED = "remove is disabled"

# The Debian packages of the engine swarmctl installs. A host whose dockerd comes from another package (Docker's
# docker-ce) or from none (a binary install) keeps its engine: these are neither installed over it nor upgraded.
DEBIAN_ENGINE = "docker.io"
DEBIAN_ENGINE_PARTS = ("docker.io", "containerd", "runc")
DOCKERD_PATHS = ("/usr/bin/dockerd", "/usr/sbin/dockerd", "/usr/local/bin/dockerd")
NO_PACKAGE = "(no package)"


def engine_owner(module) -> str:
    """The package this host's dockerd comes from: "docker.io", another ("docker-ce"), NO_PACKAGE for a binary
    installed by hand, or "" when there is no dockerd. preflight asks the same in shell (swarmctl_host_check's
    ENGINE_QUERY)."""
    for path in DOCKERD_PATHS:
        if os.path.exists(path):
            rc, out, dummy = module.run_command(["dpkg-query", "-S", path])
            owner = out.split(":", 1)[0].strip() if rc == 0 else ""
            return owner or NO_PACKAGE
    return ""


def own_engine(owner: str) -> bool:
    """Whether an engine found (engine_owner's answer) is the host's own, not Debian's docker.io."""
    return bool(owner) and owner != DEBIAN_ENGINE


def removals(module, args: list[str]) -> list[str]:
    """The packages `apt-get args` (an install) would remove, from a simulation."""
    rc, out, dummy = apt_run(module, [a for a in args if a not in NO_REMOVALS] + ["-s"])
    return [line.split()[1] for line in out.splitlines() if line.startswith("Remv ") and len(line.split()) > 1]


def _asked(args: list[str]) -> list[str]:
    """The packages of an apt-get command line (its options and their values left out)."""
    names, value_next = [], False
    for arg in args:
        if value_next or arg == "-o":
            value_next = arg == "-o"
            continue
        if not arg.startswith("-") and arg != "install":
            names.append(arg)
    return names


def _removals_refused(out: str, err: str) -> bool:
    return _REMOVALS_REFUSED in (err or "") + (out or "")


def removal_refusal(module, args: list[str], out: str, err: str) -> str | None:
    """When an install failed because it would remove packages: the message that says which, else None."""
    if not _removals_refused(out, err):
        return None
    removed = removals(module, args)
    return (f"installing {' '.join(_asked(args))} would remove {', '.join(removed) or 'packages'} "
            "from this host, and swarmctl removes nothing of a host's own. Nothing was installed. Remove them "
            "yourself if they may go, or leave this host out of the inventory.")


def apt_install(module, names: list[str]) -> None:
    """apt-get install, refreshing the package lists first when they are older than an hour or stale."""
    refresh_package_lists(module)
    args = ["install", "-y", "-q", "--no-install-recommends", *NO_REMOVALS, *APT_OPTS, *names]
    rc, out, err = apt_run(module, args)
    if rc != 0 and not _removals_refused(out, err):  # stale lists: versions the mirror has dropped since
        _apt(module, ["update", "-q"])
        rc, out, err = apt_run(module, args)
    if rc != 0:
        _fail_apt(module, args, out, err)


def apt_run(module, args: list[str]):
    """apt-get, waiting while another apt/dpkg holds the lock, and finishing a dpkg run that was interrupted."""
    deadline = time.monotonic() + APT_LOCK_WAIT_SECONDS
    repaired = False
    while True:
        rc, out, err = module.run_command(["apt-get", *args], environ_update=APT_ENV)
        text = f"{out}\n{err}"
        if rc == 0:
            return rc, out, err
        if _INTERRUPTED in text and not repaired:
            repaired = True
            module.run_command(["dpkg", "--configure", "-a"], environ_update=APT_ENV)
            continue
        if any(marker in text for marker in _LOCKED) and time.monotonic() < deadline:
            time.sleep(3)
            continue
        return rc, out, err


def _apt(module, args: list[str]) -> None:
    rc, out, err = apt_run(module, args)
    if rc != 0:
        _fail_apt(module, args, out, err)


def _fail_apt(module, args: list[str], out: str, err: str) -> None:
    module.fail_json(msg=removal_refusal(module, args, out, err) or (
        f"apt-get {' '.join(args)} failed: {(err or out).strip()[-1500:]}. Check the host reaches its Debian "
        "mirror (apt-get update)."))


def systemctl(module, *args: str, check: bool = True) -> str:
    rc, out, err = module.run_command(["systemctl", *args])
    if check and rc != 0:
        module.fail_json(msg=f"systemctl {' '.join(args)} failed: {(err or out).strip()}")
    return out


# -- package versions (swarmctl upgrade) -----------------------------------------------------------
def installed_versions(module, names: list[str]) -> dict:
    """{name: installed version, or None}."""
    found = {}
    for name in names:
        rc, out, dummy = module.run_command(["dpkg-query", "-W", "-f=${Status}\t${Version}", name])
        status, dummy, version = out.partition("\t")
        found[name] = version.strip() if rc == 0 and "install ok installed" in status else None
    return found


def apt_policy(module, names: list[str]) -> dict:
    """{name: {"candidate": version or None, "versions": [versions the host's repositories offer]}}."""
    rc, out, err = module.run_command(["apt-cache", "policy", *names], environ_update=APT_ENV)
    if rc != 0:
        module.fail_json(msg=f"apt-cache policy {' '.join(names)} failed: {(err or out).strip()[-500:]}")
    return parse_apt_policy(out)


def parse_apt_policy(text: str) -> dict:
    """`apt-cache policy A B` output -> {name: {"candidate", "versions"}}; a name apt does not know is left out."""
    policy, name, in_table = {}, None, False
    for line in text.splitlines():
        if line and not line[0].isspace() and line.rstrip().endswith(":"):
            name, in_table = line.strip()[:-1], False
            policy[name] = {"candidate": None, "versions": []}
        elif name is None:
            continue
        elif line.strip().startswith("Candidate:"):
            value = line.split(":", 1)[1].strip()
            policy[name]["candidate"] = None if value == "(none)" else value
        elif line.strip().startswith("Version table:"):
            in_table = True
        elif in_table and (line.startswith(" *** ") or line.startswith("     ") and not line.startswith("        ")):
            # "     1.6.20~ds1-1+deb12u2 500", or " *** ..." for the installed one; its sources follow, deeper
            policy[name]["versions"].append(line.replace("***", "").split()[0])
    return policy


REPOSITORIES = "this host's repositories"
BUNDLE = "the package bundle"


def version_changes(installed: dict, policy: dict, wanted: dict, source: str = REPOSITORIES) -> tuple[list[dict], list[str]]:
    """What brings each package to its wanted version ("latest": the source's candidate - the repositories',
    or the package bundle's one version). Returns ([{package, installed, wanted}] for those that differ, [problems])."""
    changes, problems = [], []
    for name, want in wanted.items():
        known = policy.get(name) or {"candidate": None, "versions": []}
        target = known["candidate"] if want in ("latest", "", None) else str(want)
        if target is None:
            problems.append(f"{name}: {source} offer{'s' if source == BUNDLE else ''} no version of it "
                            + ("(apt-get update? the package name?)" if source == REPOSITORIES else
                               "(make the bundle with it: swarmctl package-bundle)"))
            continue
        if target not in known["versions"] and target != installed.get(name):
            offered = ", ".join(known["versions"]) or "none"
            problems.append(f"{name} {target} is not in {source} ({'it offers' if source == BUNDLE else 'they offer'}: "
                            f"{offered})")
            continue
        if installed.get(name) != target:
            changes.append({"package": name, "installed": installed.get(name), "wanted": target})
    return changes, problems


def bundle_policy(offered: dict) -> dict:
    """A package bundle's {package: version} as apt_policy's answer: one version of each, its candidate."""
    return {str(name): {"candidate": str(version), "versions": [str(version)]} for name, version in offered.items()}


def plan_versions(module, wanted: dict, lists_max_age: int = 3600, offered: dict | None = None) -> dict:
    """What brings the packages to their wanted versions on this host: {installed, changes, problems, refreshed}.
    The package lists are refreshed when older than lists_max_age, and once more when a wanted version is not in
    them (lists that predate a suite the host's sources name, or a new build). With offered ({package: version},
    a package bundle's), the versions come from there: the host's repositories are neither read nor refreshed."""
    names = list(wanted)
    if offered is not None:
        installed = installed_versions(module, names)
        changes, problems = version_changes(installed, bundle_policy(offered), wanted, BUNDLE)
        return {"installed": installed, "changes": changes, "problems": problems, "refreshed": False}
    refreshed = refresh_package_lists(module, lists_max_age)
    installed = installed_versions(module, names)
    changes, problems = version_changes(installed, apt_policy(module, names), wanted)
    if problems and not refreshed:
        refreshed = refresh_package_lists(module, 0)
        changes, problems = version_changes(installed, apt_policy(module, names), wanted)
    return {"installed": installed, "changes": changes, "problems": problems, "refreshed": refreshed}


def refresh_package_lists(module, max_age: int = 3600) -> bool:
    """apt-get update when the lists are older than max_age seconds; returns whether it ran."""
    lists = "/var/lib/apt/lists"
    newest = max((os.path.getmtime(os.path.join(lists, f)) for f in os.listdir(lists)), default=0)
    if max_age > 0 and time.time() - newest <= max_age:
        return False
    _apt(module, ["update", "-q"])
    return True


def apt_install_versions(module, changes: list[dict]) -> None:
    """Bring packages to the versions in changes ([{package, wanted}]), down as well as up."""
    pins = [f"{c['package']}={c['wanted']}" for c in changes]
    _apt(module, ["install", "-y", "-q", "--no-install-recommends", "--allow-downgrades", *NO_REMOVALS, *APT_OPTS,
                  *pins])


def apt_remove(module, names: list[str]) -> None:
    """apt-get remove (configuration files kept, as after any removal that is not a purge)."""
    _apt(module, ["remove", "-y", "-q", *APT_OPTS, *names])
