"""The commands of the command line, between :mod:`presetsync.cli` (which parses argv and maps
errors to exit statuses) and the packages that do the work.

    argv ──cli.main──▶ args ──Context(args)──▶ run_*(ctx) ──▶ presets / tasks / media / local
                             config, state dir, retry policy,      (they get a client, a config,
                             one client, the target (context.py)     paths: never argv)

Each module registers its commands' parsers (``register(subparsers)``) and holds their
``run_*(ctx)`` functions, which take the :class:`~.context.Context` built once per command:
``validate`` (validate, lint; ``configured``: the pre-commit file selection), ``presets``
(plan, apply, export), ``call``, ``tasks_parser`` with ``tasks`` (submit, retry, status,
wait) and ``tasks_single`` (list, show, top, delete, meta), ``preview``, ``serve``.

Heavy imports (requests, jsonschema, yaml, PyAV) stay inside the functions, so that
``--version`` and ``--help`` start quickly.
"""
