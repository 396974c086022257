"""``python -m presetsync.local [options]``: the ``serve`` command on its own."""

from .command import main

raise SystemExit(main())
