"""Two psycopg connections against `isodb serve` (port in argv[1]).

1. A row lock: B's UPDATE blocks on A's uncommitted UPDATE of the same
   row; A commits; B goes on and sees A's write.
2. Write skew at SERIALIZABLE: both read the on-call doctors, each takes
   one off call; the second commit raises psycopg's SerializationFailure.

Prints one line per check and exits non-zero on the first failure.
"""

import sys
import threading
import time

import psycopg
from psycopg import errors

PORT = int(sys.argv[1])
DSN = f"host=127.0.0.1 port={PORT} user=py dbname=test"


def connect():
    return psycopg.connect(DSN, autocommit=False)


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}")
        sys.exit(1)
    print(f"ok: {message}")


def row_lock_blocks_until_commit():
    with psycopg.connect(DSN, autocommit=True) as setup:
        setup.execute("CREATE TABLE counter (id INT PRIMARY KEY, n INT NOT NULL)")
        setup.execute("INSERT INTO counter VALUES (1, 0)")
    a, b = connect(), connect()
    for conn in (a, b):
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
    a.execute("UPDATE counter SET n = n + 1 WHERE id = %s", (1,))
    finished = threading.Event()
    outcome = {}

    def waiter():
        b.execute("UPDATE counter SET n = n + 10 WHERE id = %s", (1,))
        outcome["n"] = b.execute("SELECT n FROM counter WHERE id = 1").fetchone()[0]
        b.commit()
        finished.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.5)
    check(not finished.is_set(), "B waits for A's row lock")
    a.commit()
    thread.join(timeout=20)
    check(finished.is_set(), "B goes on once A commits")
    # At READ COMMITTED the waiter re-reads the row A committed (at
    # REPEATABLE READ and SERIALIZABLE it would fail with 40001 instead).
    check(outcome.get("n") == 11, f"B built on A's write (n = {outcome.get('n')})")
    a.close()
    b.close()


def write_skew_is_a_serialization_failure():
    with psycopg.connect(DSN, autocommit=True) as setup:
        setup.execute("CREATE TABLE doctors (name TEXT PRIMARY KEY, on_call BOOLEAN NOT NULL)")
        setup.execute("INSERT INTO doctors VALUES ('alice', true), ('bob', true)")
    a, b = connect(), connect()
    for conn in (a, b):
        conn.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
    count = "SELECT count(*) FROM doctors WHERE on_call"
    check(a.execute(count).fetchone()[0] == 2, "A sees two doctors on call")
    check(b.execute(count).fetchone()[0] == 2, "B sees two doctors on call")
    a.execute("UPDATE doctors SET on_call = false WHERE name = %s", ("alice",))
    b.execute("UPDATE doctors SET on_call = false WHERE name = %s", ("bob",))
    a.commit()
    try:
        b.commit()
    except errors.SerializationFailure as failure:
        check(failure.sqlstate == "40001", "B's commit raises SerializationFailure (40001)")
    else:
        check(False, "B's commit raises SerializationFailure")
    with psycopg.connect(DSN, autocommit=True) as after:
        left = after.execute(count).fetchone()[0]
    check(left == 1, "one doctor is still on call")
    a.close()
    b.close()


if __name__ == "__main__":
    row_lock_blocks_until_commit()
    write_skew_is_a_serialization_failure()
    print("psycopg: all checks passed")
