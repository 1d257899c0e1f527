"""`touchpoint serve`'s app settles its heap once made: the lazily imported libraries are loaded
and the heap frozen, so a full collection no longer walks them (bench/web.py shows the p99)."""

from __future__ import annotations

import gc
import subprocess
import sys

CHECK = """
import gc, sys
from touchpoint.api.serve import served_app
assert "plotly.graph_objects" not in sys.modules and gc.get_freeze_count() == 0
served_app()
assert "plotly.graph_objects" in sys.modules and "ibis" in sys.modules
print(gc.get_freeze_count())
"""


def test_the_served_app_loads_its_libraries_and_freezes_the_heap(tmp_path: object) -> None:
    env = {"TOUCHPOINT_DATA_DIR": str(tmp_path), "TOUCHPOINT_SERVER_SCHEDULER": "false"}
    done = subprocess.run(
        [sys.executable, "-c", CHECK], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) > 100_000  # the libraries' objects, frozen
    assert gc.get_freeze_count() == 0  # this process's heap is left alone
