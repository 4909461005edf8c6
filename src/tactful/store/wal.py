"""SQLite's WAL checkpoints on a thread of their own (``checkpoint=background``, the default of a
SQLite file store; ``checkpoint=commit`` leaves them to SQLite, in the commit that fills the log).

In WAL mode every commit appends the pages it changed to the ``-wal`` file; a *checkpoint* copies
them back into the database file (and fsyncs it) so the log can start over. By default the commit
that takes the log past 1,000 pages runs that checkpoint before it returns. A decision changes ~28
pages (its row, audit entry, outbox event, facts row, feature events and state, and their indexes)
and the outbox relay a few more, so about one decision in 31 waits for a checkpoint (~160 distinct
pages and two more fsyncs) — a candidate for the tail of the decision's wall time (issue 12).

``WalCheckpointer`` moves that work off the writers: every ``every`` commits the committing thread
only sets an event; this thread runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own connection. A
passive checkpoint takes no write lock (writers keep committing while it copies) and never waits
for readers, and the sqlite3 module releases the GIL while SQLite works. The log restarts from its
start only when a writer begins after a checkpoint copied all of it; one that completes while a
writer is mid-transaction does not let it, so the pool's connections keep SQLite's automatic
checkpoint at ``BACKSTOP_PAGES``, which bounds the log.

Durability is unchanged: a commit is durable once its log frames are synced (``synchronous=FULL``),
whenever they are copied back. Measured (docs/performance.md, "SQLite write path and features
(storecpu, 2026-12-04 night)"): the decision thread's CPU p99 0.85–0.92×, wall p99 0.86–1.01× at
load 2–4; the slowest 1 % of decisions by CPU were those that ran the checkpoint.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

#: Commits between two background checkpoints: ~900 pages at a decision per commit, about the
#: log size SQLite's own automatic checkpoint keeps.
EVERY_COMMITS = 32
#: The pool connections' ``wal_autocheckpoint``: a commit checkpoints itself only past this many
#: pages in the log (~8 MB), i.e. when the background checkpoints did not let the log restart
#: (a writer was mid-transaction whenever one of them completed) or cannot keep up.
BACKSTOP_PAGES = 2_000
#: Passes per checkpoint at most. The log restarts from its beginning only once a checkpoint has
#: copied all of it; frames committed while a pass ran are left for the next pass, which is short
#: (those few commits' pages), so the log keeps restarting as it did with SQLite's own checkpoints.
PASSES = 4


class WalCheckpointer:
    """Background PASSIVE checkpoints of one SQLite database file (see the module doc)."""

    def __init__(
        self,
        path: str,
        *,
        synchronous: str,
        every: int = EVERY_COMMITS,
    ) -> None:
        self._path = path
        self._synchronous = synchronous
        self._every = every
        self._commits = 0
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        #: Held while a checkpoint runs: ``Database.scrub`` takes it so that its own truncating
        #: checkpoint does not find this one under way and report the log busy.
        self.running = threading.Lock()
        #: Checkpoints run, and the last one's (log frames, frames checkpointed): for tests and
        #: the benchmark.
        self.checkpoints = 0
        self.last: tuple[int, int] | None = None
        self._done = threading.Condition()

    def committed(self) -> None:
        """Called by a writer after each commit: cheap unless it is the ``every``-th."""
        self._commits += 1  # not atomic across threads: a lost count only delays a checkpoint
        if self._commits < self._every:
            return
        self._commits = 0
        self.kick()

    def kick(self) -> None:
        """Ask for a checkpoint now (starting the thread on first use)."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._closed:
                    thread = threading.Thread(target=self._run, name="tactful-wal-checkpoint", daemon=True)
                    thread.start()
                    self._thread = thread
        self._wake.set()

    def wait_for(self, checkpoints: int, timeout: float = 10.0) -> bool:
        """Block until at least ``checkpoints`` checkpoints have run (tests synchronise on it)."""
        with self._done:
            return self._done.wait_for(lambda: self.checkpoints >= checkpoints, timeout)

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    def _run(self) -> None:
        try:
            con = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error:
            log.exception("WAL checkpointer: cannot open %s; commits checkpoint at the backstop", self._path)
            return
        try:
            # A checkpoint syncs as this connection's setting says: the store's own.
            con.execute(f"PRAGMA synchronous={self._synchronous}")
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._closed:
                    return
                self._checkpoint(con)
        finally:
            con.close()

    def _checkpoint(self, con: sqlite3.Connection) -> None:
        frames = None
        try:
            with self.running:
                for _ in range(PASSES):
                    frames = _passive(con)
                    if frames is None or frames[0] <= frames[1]:
                        break
        except sqlite3.Error:
            # Nothing is lost: the log keeps the frames and the backstop (or the next kick) copies them.
            log.exception("WAL checkpointer: checkpoint of %s failed", self._path)
        with self._done:
            self.checkpoints += 1
            self.last = frames
            self._done.notify_all()


def _passive(con: sqlite3.Connection) -> tuple[int, int] | None:
    """One passive checkpoint: (frames in the log, frames in the database file), or None when the
    database is not in WAL mode."""
    rows = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()  # run to its end: no statement left open
    if not rows or int(rows[0][1]) < 0:
        return None
    return int(rows[0][1]), int(rows[0][2])
