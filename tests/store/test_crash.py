"""A process killed with SIGKILL in the middle of a write burst leaves a store that reopens
consistent, with every committed write in it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from studio.store import Database

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from studio.model import Comment, Project
    from studio.store import Database
    db = Database(Path(sys.argv[1]))
    with db.transaction() as tx:
        p = tx.projects.insert(Project(name="burst"))
    print(p.id, flush=True)
    n = 0
    while True:
        with db.transaction() as tx:
            for body in (str(n), f"pair {n}"):
                tx.comments.insert(Comment(project_id=p.id, target_id=p.id, author="w", body=body))
        print(n, flush=True)   # acknowledged only after the commit returned
        n += 1
    """
)


@pytest.mark.slow
def test_sigkill_mid_burst_reopens_consistent(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    project_id = proc.stdout.readline().strip()
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    acknowledged = [int(line) for line in proc.stdout.read().split()]
    assert len(acknowledged) > 20
    db = Database(path)
    bodies = [c.body for c in db.read().comments.list(project_id)]
    numbers = {int(b) for b in bodies if not b.startswith("pair")}
    pairs = {int(b.split()[1]) for b in bodies if b.startswith("pair")}
    assert set(acknowledged) <= numbers  # nothing acknowledged is lost
    assert numbers == pairs  # no transaction is half there
    assert numbers == set(range(len(numbers)))  # and none is missing in between
