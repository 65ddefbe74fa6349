# A package bundle: Debian packages and everything they depend on, as a flat apt repository in one tar file.
# One host that reaches a mirror makes it (the cluster's one download); the control machine keeps it and
# hands it to the hosts that lack the packages, which install from it alone - also hosts with no route to
# any mirror (the offline mode).

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time

from ansible_collections.swarmctl.swarm.plugins.module_utils.swarmctl_host import (
    APT_ENV,
    APT_OPTS,
    NO_REMOVALS,
    apt_run,
    refresh_package_lists,
    removal_refusal,
)

MANIFEST = "swarmctl-bundle.json"
WORK_DIR = "/var/cache/swarmctl"
# apt-cache depends --recurse, following only what an install needs.
_DEPENDS_OPTS = ["--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
                 "--no-replaces", "--no-enhances"]


def host_platform(module) -> str:
    """debian-12-amd64: what a bundle must be made for (the release's packages, the machine's architecture).
    preflight spells the same in shell (plugins/action/swarmctl_host_check.py host_query), where there may be no
    Python yet; tests/unit/test_package_bundle.py holds the two to one answer."""
    release = {}
    try:
        with open("/etc/os-release", encoding="utf-8") as handle:
            for line in handle:
                key, sep, value = line.strip().partition("=")
                if sep:
                    release[key] = value.strip().strip('"')
    except OSError:
        pass
    rc, out, dummy = module.run_command(["dpkg", "--print-architecture"])
    arch = out.strip() if rc == 0 and out.strip() else os.uname().machine
    return f"{release.get('ID', 'unknown')}-{release.get('VERSION_ID', 'unknown')}-{arch}"


def parse_depends(text: str) -> list[str]:
    """Package names of `apt-cache depends --recurse` output: its unindented lines, virtual ones (<name>) left
    out, an architecture qualifier dropped."""
    names = set()
    for line in text.splitlines():
        if not line or line[0].isspace() or line.startswith("<"):
            continue
        names.add(line.strip().split(":", 1)[0])
    return sorted(names)


def packages_index(debs: list[dict]) -> str:
    """The Packages file of a flat repository: each package's control stanza, where its file is, its checksum."""
    stanzas = []
    for deb in debs:
        stanzas.append(f"{deb['control'].rstrip()}\nFilename: ./{deb['file']}\nSize: {deb['size']}\n"
                       f"SHA256: {deb['sha256']}\n")
    return "\n".join(stanzas)


def release_file(index: bytes, platform: str) -> str:
    """An unsigned Release naming the index's checksum (the repository is trusted as the control machine's own)."""
    return (f"Origin: swarmctl\nLabel: swarmctl package bundle {platform}\nDate: "
            f"{time.strftime('%a, %d %b %Y %H:%M:%S UTC', time.gmtime())}\nSHA256:\n "
            f"{hashlib.sha256(index).hexdigest()} {len(index)} Packages\n")


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(tar_path: str) -> dict | None:
    """The manifest of the bundle at tar_path, or None (no file, not a bundle)."""
    try:
        with tarfile.open(tar_path) as tar:
            member = tar.extractfile(MANIFEST)
            return json.load(member) if member is not None else None
    except (OSError, tarfile.TarError, KeyError, ValueError):
        return None


def manifest_versions(manifest: dict) -> dict:
    """{package: version} of every package a bundle's manifest holds."""
    return {d["package"]: d["version"] for d in manifest.get("debs", [])}


def _extract(tar_path: str, dest: str) -> None:
    """A bundle holds plain files only, at its top: anything else (a link, a path) is refused."""
    with tarfile.open(tar_path) as tar:
        members = tar.getmembers()
        for member in members:
            if not member.isfile() or "/" in member.name or member.name.startswith("."):
                raise ValueError(f"unexpected member {member.name!r}")
        for member in members:
            source = tar.extractfile(member)
            with open(os.path.join(dest, member.name), "wb") as handle:
                shutil.copyfileobj(source, handle)


def _fail_apt(module, what: str, rc, out, err, hint: str):
    module.fail_json(msg=f"{what} failed (rc {rc}): {(err or out).strip()[-1500:]}. {hint}")


def pinned(versions: dict | None) -> dict:
    """{package: version} of the packages a bundle holds at a version of their own ("latest": the mirror's
    newest, as for any other package)."""
    return {str(k): str(v) for k, v in (versions or {}).items() if str(v) not in ("latest", "")}


def download_names(names: list[str], versions: dict) -> list[str]:
    """apt-get download's arguments: each package, at its pinned version where it has one."""
    return [f"{name}={versions[name]}" if name in versions else name for name in names]


def build(module, packages: list[str], dest: str, versions: dict | None = None) -> dict:
    """Download packages and everything they depend on from this host's mirror, into the bundle at dest; the
    packages of versions at those versions, the rest at the mirror's newest. Returns its manifest."""
    platform = host_platform(module)
    versions = pinned(versions)
    refresh_package_lists(module)
    wanted = list(dict.fromkeys([*packages, *versions]))
    rc, out, err = module.run_command(["apt-cache", "depends", *_DEPENDS_OPTS, *wanted], environ_update=APT_ENV)
    if rc != 0:
        _fail_apt(module, "apt-cache depends", rc, out, err,
                  "Check the package names and that this host reaches its Debian mirror (apt-get update).")
    names = parse_depends(out)
    os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
    work = tempfile.mkdtemp(dir=os.path.dirname(dest) or ".", prefix=".bundle-")
    try:
        rc, out, err = module.run_command(["apt-get", "download", "-q", *download_names(names, versions)], cwd=work,
                                          environ_update=APT_ENV)
        if rc != 0:
            _fail_apt(module, "apt-get download", rc, out, err, "Check this host reaches its Debian mirror, and that "
                      "it offers the versions asked for (apt-cache policy PACKAGE lists them).")
        debs = []
        for name in sorted(os.listdir(work)):
            if not name.endswith(".deb"):
                continue
            path = os.path.join(work, name)
            rc, control, err = module.run_command(["dpkg-deb", "-f", path])
            if rc != 0:
                module.fail_json(msg=f"dpkg-deb -f {name} failed: {err.strip()}")
            fields = dict(line.split(": ", 1) for line in control.splitlines() if ": " in line and not line[0].isspace())
            debs.append({"file": name, "package": fields.get("Package"), "version": fields.get("Version"),
                         "size": os.path.getsize(path), "sha256": _sha256(path), "control": control})
        index = packages_index(debs).encode()
        manifest = {"platform": platform, "packages": list(packages), "versions": versions, "created": int(time.time()),
                    "debs": [{k: d[k] for k in ("package", "version", "file", "size")} for d in debs]}
        part = f"{dest}.part"
        with tarfile.open(part, "w") as tar:
            for name, data in ((MANIFEST, json.dumps(manifest, indent=1).encode()), ("Packages", index),
                               ("Release", release_file(index, platform).encode())):
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
                tar.addfile(info, io.BytesIO(data))
            for deb in debs:
                tar.add(os.path.join(work, deb["file"]), arcname=deb["file"])
        os.chmod(part, 0o644)
        os.replace(part, dest)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def install(module, packages: list[str], tar_path: str) -> None:
    """Install packages (with what they need) from the bundle at tar_path alone: the host's own sources and
    package lists are neither read nor changed, so a host with no route to any mirror installs as well.
    A package may be given as NAME=VERSION (an upgrade, or a downgrade, to the bundle's version)."""
    manifest = read_manifest(tar_path)
    if manifest is None:
        module.fail_json(msg=f"{tar_path} is not a swarmctl package bundle (no {MANIFEST} in it). Nothing was "
                             "installed; make the bundle again (docker_engine_package_source: cluster, or "
                             "swarmctl package-bundle).")
    platform = host_platform(module)
    if manifest.get("platform") != platform:
        module.fail_json(msg=f"the package bundle was made for {manifest.get('platform')}, this host is {platform}. "
                             f"Nothing was installed. Make a bundle on a host of {platform}.")
    not_in = sorted({p.split("=", 1)[0] for p in packages} - {d["package"] for d in manifest.get("debs", [])})
    if not_in:
        module.fail_json(msg=f"the package bundle has no {', '.join(not_in)} (it holds "
                             f"{', '.join(manifest.get('packages', []))}). Nothing was installed; make it again.")
    os.makedirs(WORK_DIR, exist_ok=True)
    work = tempfile.mkdtemp(dir=WORK_DIR, prefix=".install-")
    os.chmod(work, 0o755)  # apt reads a file: repository as its own user (_apt)
    try:
        repo = os.path.join(work, "repo")
        os.makedirs(repo)
        try:
            _extract(tar_path, repo)
        except (OSError, tarfile.TarError, ValueError) as exc:
            module.fail_json(msg=f"the package bundle {tar_path} cannot be unpacked ({exc}). Nothing was installed; "
                                 "copy or make it again.")
        for sub in ("lists/partial", "archives/partial", "parts"):
            os.makedirs(os.path.join(work, sub))
        sources = os.path.join(work, "sources.list")
        with open(sources, "w", encoding="utf-8") as handle:
            handle.write(f"deb [trusted=yes] file:{repo} ./\n")
        only_bundle = ["-o", f"Dir::Etc::SourceList={sources}", "-o", f"Dir::Etc::SourceParts={work}/parts",
                       "-o", f"Dir::State::Lists={work}/lists", "-o", f"Dir::Cache::Archives={work}/archives",
                       "-o", "APT::Get::List-Cleanup=0"]
        rc, out, err = apt_run(module, [*only_bundle, "update", "-q"])
        if rc != 0:
            _fail_apt(module, "apt-get update (the bundle's repository)", rc, out, err, "Make the bundle again.")
        args = [*only_bundle, "install", "-y", "-q", "--no-install-recommends", "--allow-downgrades", *NO_REMOVALS,
                *APT_OPTS, *packages]
        rc, out, err = apt_run(module, args)
        refusal = removal_refusal(module, args, out, err) if rc != 0 else None
        if refusal:
            module.fail_json(msg=refusal)
        if rc != 0:
            _fail_apt(module, "apt-get install from the package bundle", rc, out, err,
                      f"The bundle ({manifest.get('platform')}, made "
                      f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(manifest.get('created', 0)))}) may be older "
                      "than what this host already has installed: make it again on a host of the same release.")
    finally:
        shutil.rmtree(work, ignore_errors=True)
