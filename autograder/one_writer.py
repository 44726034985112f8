"""One ``autograde`` at a time per course folder and per gradebook, and no ``collect`` beside it.

Two autogrades of one course would both rewrite ``autograded/``, the run records and the
gradebook, which has one writer by design (:mod:`autograder.recording`); a collect in the
middle of an autograde would replace hand-ins whose earlier files are being graded, and the
grades of those would then pass for the new ones'. A course folder is guarded by an flock on
``grading/autograde.lock``, which both commands take. A gradebook on a PostgreSQL server can be
shared by several course folders (teaching assistants' machines), which no flock sees, so it is
guarded on the server too, by an advisory lock in the gradebook's database. Both end with their
process, however it ends: the kernel drops an flock, the server a lock whose connection closed,
so a killed run leaves no stale lock behind. The other side of that: a connection that closes
under a running autograde (the server restarted, the network dropped it) takes the lock with it,
and a second autograde could start. So the run asks, before it records each hand-in, whether it
still holds the lock, and stops if it does not; the next run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time

import sqlalchemy

from .course_folder import CourseFolder, nbgrader_api
from .outcomes import RUNS

LOCK = "autograde.lock"  # in grading/: held by the course folder's running autograde or collect
# The advisory lock's key in the gradebook's database: any number, the same for every copy of
# this code; small enough to read back from pg_locks.objid whole.
GRADEBOOK_LOCK = 0x7E5A_0001
HELD = (
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    f" AND objid = {GRADEBOOK_LOCK} AND pid = pg_backend_pid()"
)
AGAIN = "wait for it to end (or stop it with Ctrl-C), then run this command again"


@contextlib.contextmanager
def only_autograde(folder: CourseFolder, assignment: str):
    """Hold the course folder's and the gradebook's autograde locks while the block runs;
    exit, saying which autograde holds one, if another does. Gives a function to call before
    each write to the gradebook: it exits if the gradebook's lock was lost meanwhile."""
    this = this_process(f"autograde {assignment}")
    db_url = nbgrader_api(folder).coursedir.db_url
    with folder_lock(folder, this), _gradebook_lock(db_url, this) as still_held:
        yield still_held


def this_process(command: str) -> str:
    """``command`` with this process and machine, as a lock names its holder."""
    return f"{command} (process {os.getpid()} on {socket.gethostname()})"


@contextlib.contextmanager
def folder_lock(folder: CourseFolder, this: str):
    """Hold the course folder's lock for ``this`` (:func:`this_process`) while the block runs;
    exit, saying who holds it, if another command does."""
    path = folder.root / RUNS / LOCK
    path.parent.mkdir(exist_ok=True)
    with open(path, "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another command"
            locked = f"{holder} is running in this course ({path} is locked): {AGAIN}"
            raise SystemExit(locked) from None
        lock.truncate(0)
        lock.write(f"{this}, started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n")
        lock.flush()
        yield


@contextlib.contextmanager
def _gradebook_lock(db_url: str, this: str):
    if sqlalchemy.engine.make_url(db_url).get_backend_name() != "postgresql":
        # SQLite: the gradebook is a file of the course folder, which its flock guards
        yield lambda: None
        return
    # The server shows each connection's application_name (63 bytes at most) to every user of
    # the database: that is how a second autograde learns which one holds the lock.
    name = this.encode()[:63].decode(errors="ignore")
    # Without keepalives, a connection the network dropped silently would pass for alive until
    # a query hung on it for the kernel's retransmission timeout (about 15 minutes).
    alive = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10}
    engine = sqlalchemy.create_engine(
        db_url,
        connect_args={"application_name": name, **alive, "keepalives_count": 3},
        poolclass=sqlalchemy.NullPool,
    )
    try:
        with engine.connect() as connection:
            take = sqlalchemy.text(f"SELECT pg_try_advisory_lock({GRADEBOOK_LOCK})")
            if not connection.scalar(take):
                holder = connection.scalar(
                    sqlalchemy.text(
                        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a"
                        " USING (pid) WHERE l.locktype = 'advisory' AND l.granted"
                        f" AND l.objid = {GRADEBOOK_LOCK} AND l.database = a.datid"
                    )
                )
                raise SystemExit(
                    f"{holder or 'another autograde'} is running on this course's gradebook"
                    f" ({engine.url.render_as_string(hide_password=True)}): {AGAIN}"
                )
            connection.commit()  # the lock is the session's, not the transaction's

            def still_held() -> None:
                try:
                    held = connection.scalar(sqlalchemy.text(HELD))
                    connection.commit()
                except sqlalchemy.exc.DBAPIError as error:
                    held, why = False, str(error.orig).strip().splitlines()[0]
                else:
                    why = "the server no longer lists it"
                if not held:
                    raise SystemExit(
                        f"stopped: this autograde lost its lock on the gradebook"
                        f" ({engine.url.render_as_string(hide_password=True)}: {why}), so"
                        " another could now write it too. The hand-ins recorded so far are"
                        " kept: run this command again to grade the rest"
                    )

            yield still_held
    finally:
        engine.dispose()
