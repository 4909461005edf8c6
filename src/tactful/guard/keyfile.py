"""Secret key files: created 0600 on first use, refused when others can read them.

Used for the keys Tactful generates when none is configured (the vault's master key, the audit head
key). They live in ``Settings.key_dir``, outside the database's folder by default, so a copy of the
database folder (a backup, a stolen disk image of that volume) does not carry the keys that open it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tactful.errors import TactfulError

log = logging.getLogger(__name__)

KEY_BYTES = 32


class KeyFileError(TactfulError):
    """A key file is unreadable, exposed or malformed."""


def read_or_create_key(path: Path, what: str) -> bytes:
    """The 32 bytes in ``path``; created (with its folder, 0700) from ``os.urandom`` when absent."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return read_or_create_key(path, what)
    except FileExistsError:
        return read_key(path, what)
    with os.fdopen(fd, "wb") as handle:
        handle.write(os.urandom(KEY_BYTES))
    log.warning(
        "generated %s at %s (mode 0600); back it up apart from the database: without it %s",
        what,
        path,
        "personal data in the vault cannot be decrypted" if "master" in what else "heads cannot be checked",
    )
    return read_key(path, what)


def read_key(path: Path, what: str) -> bytes:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyFileError(
            f"{what} file {path} is readable by others (mode {mode:o}); chmod 600 it", code="key_file_exposed"
        )
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"{what} file {path} must hold {KEY_BYTES} bytes", code="key_file_invalid")
    return key
