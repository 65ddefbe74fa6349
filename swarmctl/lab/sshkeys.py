"""The lab's SSH client key (made with cryptography, so no ssh-keygen is needed on the control machine)."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def ensure_keypair(private_path: Path, comment: str) -> str:
    """Create an ed25519 key pair at private_path (0600) unless present; return the public key line."""
    public_path = private_path.with_suffix(".pub")
    if private_path.exists() and public_path.exists():
        os.chmod(private_path, 0o600)
        return public_path.read_text().strip()
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    line = f"{public.decode()} {comment}"
    public_path.write_text(line + "\n")
    return line
