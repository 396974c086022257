"""Real media with PyAV: what the local service's ``--media-root`` mode and ``presetsync
preview`` do with a preset.

    preset param ──spec.read_spec──▶ Spec ──render.render(Job)──▶ output file(s) ──probe──▶ meta
                                       ▲                                                  │
                                       └────────────── preview.check (expected, got) ◀────┘

Modules: ``spec`` (what a preset asks for, read from its param with the documented rules:
pure Python), ``render`` (a :class:`~presetsync.media.render.Job` through PyAV: one module for
the service's workers and for preview), ``pipes`` (each stream's way through a transcode),
``probe`` (a file as ffprobe-shaped meta info), ``sample`` (the generated test pattern),
``preview`` (``presetsync preview`` and ``plan --preview``; their command-line options are in
:mod:`presetsync.commands.preview`).

PyAV (the ``av`` package, FFmpeg inside its wheel) is optional: ``pip install
'presetsync[media]'``. Nothing here imports it at import time: a function that needs it calls
:func:`import_av`, which says how to install it when it is missing, then imports ``av`` itself
(so that the type checker knows the module). Without it, presetsync (the simulated local
service included) never imports ``av``.

A task that cannot be done raises :class:`MediaError`, whose ``code`` is the task's
``errorCode`` and whose message is its ``errorMsg``.
"""

from __future__ import annotations

from ..errors import InputError

INSTALL_HINT = "install the media extra: pip install 'presetsync[media]' (PyAV, with FFmpeg in its wheel)"

# A task's errorCode (sent as a string) when its media work fails; 3001 (a preset is missing)
# is in presetsync.local.protocol.
SOURCE_MISSING = 3002  # a srcInfo path (or a logo) is not in the media root
UNSUPPORTED = 3003  # a value the local renderer or this FFmpeg cannot do (codec, container, chain)
MEDIA_FAILED = 3004  # FFmpeg could not read the source or write the output


class MediaError(Exception):
    """A task (or a preview) that cannot be done, and why."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class MediaUnavailable(InputError):
    """PyAV is not installed (exit 1)."""


def import_av() -> None:
    """Import ``av``; :class:`MediaUnavailable` (saying how to install it) when it is missing."""
    try:
        import av  # noqa: F401 - imported to be there; callers import it by name
    except ImportError as exc:
        raise MediaUnavailable(f"PyAV is not available ({exc}): {INSTALL_HINT}") from None
