"""Transcoding tasks as code: manifests submitted exactly once, then followed.

Data flow::

    manifest ──load+check──▶ TaskSpec stream ──▶ journal (SQLite) ──▶ CreateTask ─┐
        (manifest.py, check.py)  (identity.py)     (journal.py)       (submit.py) │
                                                        ▲                         │
                                                        └── settle (settle.py) ◀──┘ in doubt
    status / wait / retry (status.py) ── GetTaskByTaskID, GetTaskList (listing.py)

Modules: ``manifest`` (YAML manifests: checks, lazy expansion), ``identity`` (the body as
sent and its hash), ``check`` (presets against files and the live service), ``journal``
(the crash-safe record of every submission), ``settle`` (deciding tasks in doubt through
GetTaskList), ``submit`` (worker threads, rounds), ``status`` (refresh, wait, retry),
``listing`` (GetTaskList paging), ``meta`` (meta_info summaries), ``progress`` (stderr
display), ``command`` (the ``presetsync tasks`` command group).
"""
