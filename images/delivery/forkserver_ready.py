"""Imported last in the render forkserver (see sandbox.PRELOAD), never elsewhere.

Two things make each forked render cheaper:

- The server's main script runs here once. Every forkserver child rebuilds the parent's
  ``__main__`` unless it finds it already loaded, and Python 3.11's forkserver never
  loads it even when asked to (it looks for a ``main_path`` key that the preparation data
  calls ``init_main_from_path``), so under gunicorn each render re-ran gunicorn's script
  and its imports. The sandbox passes the path in ``MAIN_PATH_VARIABLE``.
- Everything created so far is frozen: a garbage collection in a child would otherwise
  write to the header of every object the forkserver owns, copying most of its pages.
"""

import contextlib
import gc
import os
from multiprocessing import spawn

from images.delivery.sandbox import MAIN_PATH_VARIABLE

if main_path := os.environ.get(MAIN_PATH_VARIABLE):
    # If the script fails to load here, each child loads it: slower, still correct.
    with contextlib.suppress(Exception):
        spawn.import_main_path(main_path)

gc.collect()
gc.freeze()
