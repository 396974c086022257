"""Media workers: with ``presetsync serve --media-root DIR`` tasks are really transcoded.

Buckets are directories of the media root: the object ``/bucket/key`` is the file
``DIR/bucket/key``. CreateTask answers at once and stores the task as ``init`` with its exec
and done times not known yet (:data:`~presetsync.local.store.NOT_YET`); the store is the queue.
A bounded pool of worker threads (:class:`MediaWorkers`) takes the next waiting task (tasks
put on top first, then in creation order), marks it ``exec``, renders it with
:mod:`presetsync.media.render` and records ``succ`` or ``fail`` with the real reason in
``errorCode`` / ``errorMsg``:

=========  ==============================================================================
errorCode  reason
=========  ==============================================================================
3001       a preset of the task does not exist (any more)
3002       a source (srcInfo path) or a logo is not in the media root
3003       not possible: a codec, container or value the local renderer or this FFmpeg
           cannot do, a chain other than ``avop|avlogo``, more than one source, a bad
           object path, extParam that is not a JSON object
3004       FFmpeg could not read the source or write the output
=========  ==============================================================================

API threads never wait for a worker; rendering happens in the pool's threads (FFmpeg does the
work outside the GIL). The 2016 API has no progress field, so progress shows as the status
(``init`` -> ``exec`` -> ``succ``/``fail``), in :meth:`MediaWorkers.progress` and in the log.
Where a task writes: avop/avsnapshot the object ``dstBucket/dstObjectKey``; avm3u8 the
playlist there, its segments beside it (extParam ``hls_segment_filename``, a file name with a
``%d``, names them); avsample its images in ``dstDir`` (default: the object's folder), named
by extParam ``pattern`` (default ``<object stem>-%05d<object suffix>``); avinfo nothing: its
meta info (read from the source) is what GetTaskMetaInfo returns. Other tasks have no meta
info in this mode. A task left ``exec`` by a stopped service runs again at the next start.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError
from ..media import MEDIA_FAILED, SOURCE_MISSING, UNSUPPORTED, MediaError, import_av
from .protocol import TASK_PRESET_MISSING
from .store import PresetRow, Store, TaskRow

log = logging.getLogger("presetsync.local.worker")

DEFAULT_WORKERS = 2
_FILE_PATTERN = re.compile(r"[^/\\]*%0?[0-9]*d[^/\\]*")


def check_media_root(path: str | Path, workers: int) -> Path:
    """The media root, checked: PyAV importable (else how to install it), a directory, and
    at least one worker; raises an InputError (exit 1) saying what is wrong."""
    import_av()
    root = Path(path)
    if not root.is_dir():
        raise ConfigError(f"media root {path}: not a directory (its subdirectories are the buckets)")
    if workers < 1:
        raise ConfigError(f"media workers must be at least 1, got {workers}")
    return root.resolve()


def object_path(root: Path, path: str, what: str) -> Path:
    """The file of the object ``/bucket/key`` under *root*; MediaError for anything else
    (no ``..``, no empty parts: nothing outside the root is ever read or written)."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] or any(part in ("", ".", "..") or "\\" in part for part in parts[1:]):
        raise MediaError(UNSUPPORTED, f"{what} {path!r} is not an object path /bucket/key")
    return root.joinpath(*parts[1:])


def _ext_param(value: object) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    if not isinstance(value, dict):
        raise MediaError(UNSUPPORTED, "extParam must be a JSON object (as a string)")
    return value


def _file_pattern(value: object, name: str) -> str:
    if not isinstance(value, str) or not _FILE_PATTERN.fullmatch(value):
        raise MediaError(UNSUPPORTED, f"extParam {name} {value!r} must be a file name with a %d (e.g. seg-%03d.ts)")
    return value


class MediaWorkers:
    """A bounded pool of threads doing the store's waiting tasks under *media_root*."""

    def __init__(
        self,
        store: Store,
        media_root: str | Path,
        *,
        clock: Callable[[], datetime],
        workers: int = DEFAULT_WORKERS,
    ):
        self.store = store
        self.root = Path(media_root)
        self.workers = workers
        self._clock = clock
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._generation = 0  # bumped by wake(): a worker that saw no task waits for a change
        self._progress: dict[str, float] = {}
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        with self.store.transaction(write=True) as tx:
            again = tx.requeue_unfinished_tasks()
        if again:
            log.info("%d unfinished media task(s) will run again", again)
        for number in range(self.workers):
            thread = threading.Thread(target=self._run, name=f"presetsync-media-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking tasks; a task being rendered stops at its next packet and runs again
        at the next start."""
        self._stopping.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def wake(self) -> None:
        """Tell idle workers that a task may be waiting (CreateTask calls it)."""
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    def progress(self, taskid: str) -> float | None:
        """How far a running task is, 0.0 to 1.0; None when it is not running."""
        return self._progress.get(taskid)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no task waits or runs (tests, benchmarks); False on timeout."""

        def idle() -> bool:
            with self.store.transaction() as tx:
                return tx.count_unfinished_tasks() == 0

        with self._changed:
            return self._changed.wait_for(lambda: self._stopping.is_set() or idle(), timeout)

    def _now(self) -> float:
        return self._clock().timestamp()

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._changed:
                seen = self._generation
            with self.store.transaction(write=True) as tx:
                claimed = tx.claim_task(self._now())
            if claimed is None:
                self._wait_for_change(seen)
                continue
            self._do(*claimed)

    def _wait_for_change(self, seen: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._generation != seen or self._stopping.is_set())

    def _do(self, account: str, row: TaskRow) -> None:
        from ..media.render import Cancelled

        self._progress[row.taskid] = 0.0
        log.info("task %s (%s): started", row.taskid, row.preset)
        try:
            code, message, meta = 0, "", self._render(account, row)
        except MediaError as exc:
            code, message, meta = exc.code, exc.message, None
        except Cancelled:
            log.info("task %s: stopped with the service; it runs again at the next start", row.taskid)
            return
        except Exception as exc:  # a bug or an FFmpeg surprise: the task fails, the worker lives on
            log.exception("task %s: failed unexpectedly", row.taskid)
            code, message, meta = MEDIA_FAILED, f"internal error: {type(exc).__name__}: {exc}", None
        finally:
            self._progress.pop(row.taskid, None)
        with self.store.transaction(write=True) as tx:
            tx.finish_task(row.taskid, self._now(), code, message, meta)
        log.info("task %s: %s", row.taskid, f"failed ({code}): {message}" if code else "done")
        self.wake()  # wait_idle() callers look again

    def _render(self, account: str, row: TaskRow) -> str | None:
        from ..media.render import Job, LogoImage, render
        from ..media.spec import read_spec

        body: dict[str, Any] = json.loads(row.body)  # as CreateTask stored it: a JSON object
        names = row.preset.split("|")
        with self.store.transaction() as tx:
            found = [tx.get_preset(account, name) for name in names]
        presets: list[PresetRow] = []
        for name, preset in zip(names, found):
            if preset is None:
                raise MediaError(TASK_PRESET_MISSING, f"preset {name} does not exist")
            presets.append(preset)
        types = [p.presettype for p in presets]
        first = presets[0]
        logos: list[LogoImage] = []
        if len(names) > 1:
            if types != ["avop", "avlogo"]:
                raise MediaError(
                    UNSUPPORTED, f"preset {row.preset!r} ({'|'.join(types)}): a chain is one avop and one avlogo preset"
                )
            logo_param = json.loads(presets[1].param or "{}")
            for logo in read_spec("avlogo", logo_param).logos:
                if "://" in logo.url:
                    raise MediaError(UNSUPPORTED, f"logoUrl {logo.url!r}: the local service reads logos as /bucket/key")
                path = object_path(self.root, logo.url, "logoUrl")
                if not path.is_file():
                    raise MediaError(SOURCE_MISSING, f"the logo {logo.url} is not in the media root")
                logos.append(LogoImage(path, logo.x, logo.y))
        sources = body["srcInfo"]
        if len(sources) != 1:
            raise MediaError(UNSUPPORTED, f"srcInfo has {len(sources)} sources: the local service renders one")
        source = object_path(self.root, sources[0]["path"], "srcInfo path")
        if not source.exists():
            raise MediaError(SOURCE_MISSING, f"the source {sources[0]['path']} is not in the media root")
        ext = _ext_param(body.get("extParam"))
        output = object_path(self.root, f"/{body['dstBucket']}/{body['dstObjectKey']}", "dstBucket/dstObjectKey")
        if first.presettype == "avsample":
            folder = output.parent
            if body.get("dstDir"):
                folder = object_path(self.root, f"/{body['dstBucket']}/{body['dstDir'].strip('/')}", "dstDir")
            pattern = ext.get("pattern") or f"{output.stem}-%05d{output.suffix or '.jpg'}"
            output = folder / _file_pattern(pattern, "pattern")
        segments = ext.get("hls_segment_filename")
        job = Job(
            first.presettype,
            json.loads(first.param or "{}"),
            source,
            output,
            ext=ext,
            logos=logos,
            segment_pattern=None if segments is None else _file_pattern(segments, "hls_segment_filename"),
        )

        def progress(done: float, taskid: str = row.taskid) -> None:
            self._progress[taskid] = done

        return render(job, progress=progress, cancel=self._stopping).meta
