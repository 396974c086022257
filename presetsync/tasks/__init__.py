"""Transcoding tasks as code: manifests submitted exactly once, then followed.

Data flow::

    manifest ──load+check──▶ TaskSpec stream, a chunk at a time ──▶ journal ──▶ CreateTask ─┐
      (manifest.py, outputs.py,    (identity.py)      (journal.py: SQLite   (submit.py)    │
       check.py)                                       or PostgreSQL)                      │
                                   GetTaskList ──▶ reconcile (reconcile.py) ◀──────────────┘
                                   (listing.py)     before sending, and for tasks in doubt
    status / wait / retry (status.py) ── GetTaskByTaskID, GetTaskList (listing.py)

Modules: ``manifest`` (YAML manifests: checks, lazy expansion), ``outputs`` (rendered keys
and duplicate outputs, in one pass), ``identity`` (the body as sent and its hash), ``check``
(presets against files and the live service), ``journal`` with ``journal_db``,
``journal_schema`` and ``journal_transitions`` (the crash-safe record and claim table, in
SQLite or PostgreSQL), ``reconcile`` (the service decides which tasks exist), ``submit``
(chunks, worker threads, rounds), ``status`` (refresh, wait, retry), ``listing`` (GetTaskList paging), ``meta``
(meta_info summaries), ``progress`` (stderr display). The ``presetsync tasks`` commands are
in :mod:`presetsync.commands` (``tasks_parser``, ``tasks``, ``tasks_single``).
"""
