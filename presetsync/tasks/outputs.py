"""Every task's output, before anything is sent: a matrix template that renders an unusable
object key, and two tasks writing the same dstBucket + dstObjectKey (a problem at each).

Checked over every manifest given together (``validate`` of several files, ``tasks submit``
of one), in one pass over the outputs with flat memory for any number of tasks: see
:func:`check_outputs`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from ..inputs.positions import YamlPath
from ..inputs.problems import Problem
from .manifest import Manifest


def check_outputs(manifests: Iterable[Manifest]) -> list[Problem]:
    """The problems of every output of *manifests*.

    Memory stays flat for any number of tasks: the one pass over the outputs checks each
    rendered key and puts a 64-bit hash of each output in a temporary SQLite table, which
    finds the repeated hashes; only when there are some, a second pass collects the places of
    those outputs.
    """
    manifests = list(manifests)
    problems, suspects = _first_pass(manifests)
    if not suspects:
        return sorted(set(problems))
    places: dict[tuple[str, str], list[tuple[Manifest, YamlPath]]] = {}
    for manifest in manifests:
        for bucket, key, path, _ in manifest.outputs():
            if isinstance(bucket, str) and isinstance(key, str) and _output_hash(bucket, key) in suspects:
                places.setdefault((bucket, key), []).append((manifest, path))
    for (bucket, key), found in places.items():
        if len(found) < 2:
            continue  # a hash collision, not a repeated output
        located = [(m, p, m.doc.positions.find(p)) for m, p in found]
        for manifest, path, (line, col) in located:
            others = [
                f"line {ln}" if m is manifest else f"{m.file}:{ln}"
                for m, p, (ln, _) in located
                if (m, p) != (manifest, path)
            ]
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
            message = f"another task also writes {bucket}/{key}, at {shown}: give each task its own dstObjectKey"
            problems.append(Problem(manifest.file, line, col, message))
    return sorted(set(problems))


def _output_hash(bucket: str, key: str) -> int:
    return hash((bucket, key))  # 64 bits, this process only: repeats are confirmed by a second pass


def _first_pass(manifests: list[Manifest]) -> tuple[list[Problem], set[int]]:
    """Unusable rendered keys, and the output hashes that occur more than once (sorted out by
    SQLite, on disk when large)."""
    problems: list[Problem] = []
    conn = sqlite3.connect("")  # a private temporary database
    try:
        conn.execute("CREATE TABLE outputs (h INTEGER NOT NULL)")
        batch: list[tuple[int]] = []
        for manifest in manifests:
            for bucket, key, path, preset in manifest.outputs():
                if path[0] == "matrix" and (key == "" or (isinstance(key, str) and key.startswith("/"))):
                    problems.append(
                        manifest.doc.problem(
                            path,
                            f"the dstObjectKey template gives {key!r} for this source and preset {preset!r}: "
                            "an object key must be non-empty and must not start with '/'",
                        )
                    )
                if isinstance(bucket, str) and isinstance(key, str):
                    batch.append((_output_hash(bucket, key),))
                    if len(batch) >= 10_000:
                        conn.executemany("INSERT INTO outputs VALUES (?)", batch)
                        batch = []
        conn.executemany("INSERT INTO outputs VALUES (?)", batch)
        repeated = {row[0] for row in conn.execute("SELECT h FROM outputs GROUP BY h HAVING count(*) > 1")}
        return problems, repeated
    finally:
        conn.close()
