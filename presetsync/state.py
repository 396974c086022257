"""The state directory, ``.presetsync/`` beside presetsync.yaml: journals, the embedded local
service's database (it holds the development account's secret), the apply audit log.

Everything in it is private: the directory is created 0700 and its files 0600, whatever the
umask, since a task journal or an audit log tells what an account transcodes and when.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

STATE_DIR_NAME = ".presetsync"


def private_dir(path: Path) -> Path:
    """Create *path* (and missing parents) readable by its owner only; an existing state
    directory is tightened to 0700 too."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.name == STATE_DIR_NAME:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create *path* (empty) as 0600 in a private directory, unless it exists."""
    path = Path(path)
    private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    return path
