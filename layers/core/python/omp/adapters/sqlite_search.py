"""The search port on SQLite FTS5: the embedded default (local runtime and tests).

One FTS5 table holds every index's documents (`index_name` and `doc_id` unindexed columns);
`text` is what matches, `filter` a space-separated `key=value` list narrowed with a second
MATCH on that column. User text never reaches FTS5 syntax: it is split into words and each is
quoted as a prefix term, so any input is a valid query (no 500 for an odd character). The
default tokenizer splits `web-checkout-1` and `10.0.1.12` into words; a quoted query word
becomes the same words as a phrase, so both match.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import Any

_WORD = re.compile(r"[\w.:/@-]+", re.UNICODE)
MAX_TERMS = 16


def _terms(text: str) -> list[str]:
    words = [w for w in _WORD.findall(text.lower()) if w.strip(".:/@-")][:MAX_TERMS]
    return ['"' + w.replace('"', "") + '"*' for w in words]


class SqliteSearchIndex:
    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30)
            con.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5("
                "index_name UNINDEXED, doc_id UNINDEXED, text, filter)"
            )
            con.commit()
            self._local.con = con
        return con

    def put(self, index: str, doc_id: str, text: str, filters: dict[str, str]) -> None:
        """Index (or re-index) one document."""
        con = self._db()
        with con:
            con.execute("DELETE FROM docs WHERE index_name = ? AND doc_id = ?", (index, doc_id))
            con.execute(
                "INSERT INTO docs (index_name, doc_id, text, filter) VALUES (?, ?, ?, ?)",
                (index, doc_id, text, " ".join(f"{k}={v}" for k, v in sorted(filters.items()))),
            )

    def put_many(self, index: str, docs: list[tuple[str, str, dict[str, str]]]) -> None:
        """Index (or re-index) many documents (doc_id, text, filters) in one transaction."""
        con = self._db()
        with con:
            con.executemany(
                "DELETE FROM docs WHERE index_name = ? AND doc_id = ?",
                [(index, doc_id) for doc_id, _, _ in docs],
            )
            con.executemany(
                "INSERT INTO docs (index_name, doc_id, text, filter) VALUES (?, ?, ?, ?)",
                [
                    (index, doc_id, text, " ".join(f"{k}={v}" for k, v in sorted(f.items())))
                    for doc_id, text, f in docs
                ],
            )

    def delete(self, index: str, doc_id: str) -> None:
        con = self._db()
        with con:
            con.execute("DELETE FROM docs WHERE index_name = ? AND doc_id = ?", (index, doc_id))

    def search(
        self, index: str, text: str, filters: dict[str, str], limit: int
    ) -> list[tuple[str, float]]:
        """(doc_id, score) best first; score: -bm25 (higher is better)."""
        terms = _terms(text)
        if not terms:
            return []
        match = "text : (" + " ".join(terms) + ")"
        for key, value in sorted(filters.items()):
            match += f' AND filter : "{key}={value.replace(chr(34), "")}"'
        rows: list[Any] = (
            self._db()
            .execute(
                "SELECT doc_id, bm25(docs) FROM docs WHERE docs MATCH ? AND index_name = ? "
                "ORDER BY bm25(docs) LIMIT ?",
                (match, index, limit),
            )
            .fetchall()
        )
        return [(str(r[0]), -float(r[1])) for r in rows]
