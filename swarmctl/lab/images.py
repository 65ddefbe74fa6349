"""Images built on this machine from Debian packages: no registry is needed to pull anything.

A recipe is data (suite, packages, files, commands). Its digest names the image tag, so an image
is built once, reused while the recipe is unchanged, and rebuilt when the recipe changes.
Build: debootstrap a root, apply the recipe, stream ``tar`` of the root into ``docker import``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from swarmctl import paths

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
LABEL_RECIPE = "io.swarmctl.recipe"


class ImageBuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Recipe:
    repository: str
    packages: tuple[str, ...]
    files: tuple[tuple[str, int, str], ...] = ()  # (path, mode, content)
    commands: tuple[str, ...] = ()  # run with /bin/sh -c inside the root (chroot)
    changes: tuple[str, ...] = ()  # Dockerfile-style instructions for `docker import`
    # "minbase"/"buildd": a debootstrap root. "debs": only the files of `packages`, unpacked with
    # dpkg-deb (no package manager, no libc unless asked for) - for tiny images such as busybox apps.
    variant: str = "minbase"
    suite: str = SUITE
    shell: str = "/bin/sh"  # runs `commands` inside the root
    # Bumped by hand when the build procedure itself changes in a way the data does not show.
    procedure: int = 1
    apt_sources: bool = True

    def digest(self) -> str:
        data = json.dumps(
            {
                "repository": self.repository,
                "packages": sorted(self.packages),
                "files": [list(f) for f in self.files],
                "commands": list(self.commands),
                "changes": list(self.changes),
                "variant": self.variant,
                "suite": self.suite,
                "procedure": self.procedure,
                "apt_sources": self.apt_sources,
                "shell": self.shell,
            },
            sort_keys=True,
        )
        return hashlib.sha256(data.encode()).hexdigest()

    @property
    def tag(self) -> str:
        return self.digest()[:12]

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"


def debian_mirrors() -> tuple[str, str]:
    """The machine's own Debian mirrors (main, security), so builds use what this machine reaches."""
    main = os.environ.get("SWARMCTL_DEBIAN_MIRROR")
    security = os.environ.get("SWARMCTL_DEBIAN_SECURITY_MIRROR")
    found_main, found_security = _mirrors_from_apt_sources()
    return (main or found_main or DEFAULT_MIRROR, security or found_security or DEFAULT_SECURITY_MIRROR)


def _mirrors_from_apt_sources() -> tuple[str | None, str | None]:
    texts = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        try:
            texts.append(path.read_text())
        except OSError:
            continue
    return parse_apt_sources(texts)


def parse_apt_sources(texts: list[str]) -> tuple[str | None, str | None]:
    """(main mirror, security mirror) for SUITE from apt source files, one-line or deb822 format."""
    main = security = None
    for text in texts:
        # deb822 stanzas: "URIs: <uri>" followed by "Suites: ..."
        for stanza in re.split(r"\n\s*\n", text):
            uri = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uri and suites:
                names = suites.group(1).split()
                if any(s.endswith("-security") for s in names):
                    security = security or uri.group(1)
                elif SUITE in names:
                    main = main or uri.group(1)
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and not parts[1].startswith("["):
                if parts[2].endswith("-security"):
                    security = security or parts[1]
                elif parts[2] == SUITE:
                    main = main or parts[1]
    return main, security


def image_exists(client, recipe: Recipe) -> bool:
    import docker.errors

    try:
        client.images.get(recipe.reference)
        return True
    except docker.errors.ImageNotFound:
        return False


def ensure_image(client, recipe: Recipe, log=None) -> tuple[str, bool]:
    """Build the recipe's image unless it exists. Returns (reference, built)."""
    log = log or _stderr
    if image_exists(client, recipe):
        return recipe.reference, False
    build_root = paths.state_dir() / "build"
    build_root.mkdir(parents=True, exist_ok=True)
    # One build per recipe at a time, even across processes.
    with open(build_root / f"{recipe.repository.replace('/', '_')}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if image_exists(client, recipe):
            return recipe.reference, False
        started = time.monotonic()
        log(f"building image {recipe.reference} from Debian packages (once per recipe)")
        build(client, recipe, build_root)
        log(f"built {recipe.reference} in {time.monotonic() - started:.0f}s")
    return recipe.reference, True


def build(client, recipe: Recipe, build_root: Path) -> None:
    if os.geteuid() != 0:
        raise ImageBuildError("building lab images needs root (debootstrap and chroot); run as root")
    if not shutil.which("debootstrap"):
        raise ImageBuildError(
            "debootstrap is not installed; install it with: apt-get install -y debootstrap"
        )
    mirror, security = debian_mirrors()
    workdir = Path(tempfile.mkdtemp(prefix="rootfs-", dir=build_root))
    root = workdir / "root"
    try:
        if recipe.variant == "debs":
            _unpack_debs(recipe.packages, workdir, root)
        else:
            _run(
                [
                    "debootstrap",
                    f"--variant={recipe.variant}",
                    f"--include={','.join(recipe.packages)}",
                    recipe.suite,
                    str(root),
                    mirror,
                ],
                "debootstrap",
            )
        if recipe.apt_sources and recipe.variant != "debs":
            _write(
                root,
                "/etc/apt/sources.list",
                0o644,
                f"deb {mirror} {recipe.suite} main\n"
                f"deb {mirror} {recipe.suite}-updates main\n"
                f"deb {security} {recipe.suite}-security main\n",
            )
        for path, mode, content in recipe.files:
            _write(root, path, mode, content)
        for command in recipe.commands:
            _run(["chroot", str(root), *recipe.shell.split(), "-euc", command], f"recipe command {command!r}")
        # Caches and logs of the build do not belong in the image.
        for junk in ("var/cache/apt/archives", "var/log"):
            for child in (root / junk).glob("*"):
                if child.is_file():
                    child.unlink()
        _import(client, root, recipe)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _unpack_debs(packages: tuple[str, ...], workdir: Path, root: Path) -> None:
    """Fetch .deb files with the machine's apt (refreshing its lists once if they are stale) and unpack them."""
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        raise ImageBuildError("building this image needs apt-get and dpkg-deb (a Debian or Ubuntu machine)")
    debs = workdir / "debs"
    debs.mkdir()
    download = ["apt-get", "download", *packages]
    result = subprocess.run(download, cwd=debs, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        _run(["apt-get", "update", "-q"], "apt-get update")
        result = subprocess.run(download, cwd=debs, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise ImageBuildError(f"apt-get download {' '.join(packages)} failed:\n{result.stdout[-2000:]}")
    root.mkdir()
    for deb in sorted(debs.glob("*.deb")):
        _run(["dpkg-deb", "-x", str(deb), str(root)], f"dpkg-deb -x {deb.name}")


def save_archive(client, references: list[str], path: Path) -> bool:
    """Write `docker save` of images (one archive) to path unless it is already there. True when written."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    # One writer at a time, even across processes (two labs brought up at once by parallel test workers).
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return False
        tmp = path.with_name(path.name + ".part")
        # The SDK saves one image per call; the engine's endpoint takes several.
        response = client.api.get(f"{client.api.base_url}/images/get", params={"names": references}, stream=True)
        response.raise_for_status()
        with open(tmp, "wb") as handle:
            for chunk in response.iter_content(chunk_size=1 << 20):
                handle.write(chunk)
        tmp.rename(path)
    return True


def _import(client, root: Path, recipe: Recipe) -> None:
    changes = list(recipe.changes) + [f"LABEL {LABEL_RECIPE}={recipe.digest()}"]
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
    )
    try:
        client.api.import_image(
            src=tar.stdout, repository=recipe.repository, tag=recipe.tag, changes=changes, stream_src=True
        )
    finally:
        tar.stdout.close()
        if tar.wait() != 0:
            raise ImageBuildError(f"tar of {root} failed with exit code {tar.returncode}")


def _write(root: Path, path: str, mode: int, content: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    target.chmod(mode)


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-15:])
        raise ImageBuildError(f"{what} failed (exit {result.returncode}):\n{tail}")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
