"""Relation types and which way a failure travels along each of them.

An edge always points from its source to its target (`app --runs_on--> vm`). `impact` says which
end fails when the other does: "source" (the source fails with its target: depends_on, runs_on,
member_of), "target" (the target fails with its source: contains), or "none" (owned_by,
connects_to: no failure propagates).
"""

from __future__ import annotations

from typing import Literal

Impact = Literal["source", "target", "none"]

RELATION_TYPES: dict[str, Impact] = {
    "depends_on": "source",
    "runs_on": "source",
    "member_of": "source",
    "hosted_on": "source",
    "contains": "target",
    "connects_to": "none",
    "owned_by": "none",
}

RELATION_TYPE_PATTERN = "^(" + "|".join(RELATION_TYPES) + ")$"


def impact_types() -> tuple[list[str], list[str]]:
    """(relation types walked in reverse, walked forward) for the downstream impact of a CI:
    a CI's dependants are the sources of its "source" edges and the targets of its "target"
    edges."""
    reverse = [t for t, i in RELATION_TYPES.items() if i == "source"]
    forward = [t for t, i in RELATION_TYPES.items() if i == "target"]
    return reverse, forward
