"""ULIDs with a type prefix: `alm_01HZX...`; sortable by time, 26 Crockford base32 chars."""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def ulid(now_ms: int | None = None) -> str:
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str, now_ms: int | None = None) -> str:
    return f"{prefix}_{ulid(now_ms)}"


def is_id(value: str, prefix: str) -> bool:
    head, sep, tail = value.partition("_")
    return sep == "_" and head == prefix and bool(_ULID.match(tail))


def id_time_ms(value: str) -> int:
    """The millisecond timestamp a prefixed ULID carries."""
    ms = 0
    for char in value.partition("_")[2][:10]:
        ms = ms * 32 + _ALPHABET.index(char)
    return ms
