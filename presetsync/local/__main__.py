"""``python -m presetsync.local [options]``: the same as ``presetsync serve [options]``.

An entry point, like the ``presetsync`` script: it runs the command line (``python -m
presetsync serve ...``) rather than importing it, since the local service sits below the
command layer (``presetsync.commands.serve`` holds the command) and imports nothing above it.
"""

import runpy
import sys

sys.argv[1:1] = ["serve"]
runpy.run_module("presetsync", run_name="__main__", alter_sys=True)
