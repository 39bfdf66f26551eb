"""`merge_keyed`: a stored page and a few items kept elsewhere, merged in key order, so that
paging through both gives every item once, in order, whatever the page size."""

import pytest

from omp.domain.pagination import merge_keyed

STORED = ["b", "d", "e", "g"]


def _pages(stored, extra, limit):
    """Page to the end as an adapter would: the store answers `limit` keys after `after`."""
    seen, after = [], ""
    while True:
        tail = [k for k in stored if k > after]
        page, resume = merge_keyed(
            [(k, f"s:{k}") for k in tail[:limit]],
            len(tail) > limit,
            [(k, f"x:{k}") for k in extra],
            after=after,
            limit=limit,
        )
        seen += page
        if resume is None:
            return seen
        assert resume > after  # every page moves on
        after = resume


@pytest.mark.parametrize("limit", [1, 2, 3, 10])
def test_every_item_once_in_key_order_whatever_the_page_size(limit):
    extra = ["h", "a", "c", "f"]  # before, between and after the stored ones, any order
    assert _pages(STORED, extra, limit) == [
        "x:a", "s:b", "x:c", "s:d", "s:e", "x:f", "s:g", "x:h"
    ]  # fmt: skip


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_a_stored_item_wins_over_an_extra_one_with_its_key(limit):
    assert _pages(STORED, ["d", "c"], limit) == ["s:b", "x:c", "s:d", "s:e", "s:g"]


def test_extra_items_past_the_stored_page_wait_for_the_store():
    page, resume = merge_keyed([("b", 1)], True, [("z", 9)], after="", limit=5)
    assert (page, resume) == ([1], "b")


def test_nothing_stored_and_nothing_more():
    assert merge_keyed([], False, [], after="", limit=3) == ([], None)
    assert merge_keyed([], False, [("a", 1)], after="a", limit=3) == ([], None)


def test_a_short_stored_page_with_more_to_come_holds_later_extras_back():
    # DynamoDB may stop a page early (1 MB) and still have more: extras past its last key wait
    page, resume = merge_keyed(
        [("b", "s:b")], True, [("a", "x:a"), ("c", "x:c")], after="", limit=5
    )
    assert (page, resume) == (["x:a", "s:b"], "b")


def test_extras_past_after_with_nothing_stored_and_no_more():
    page, resume = merge_keyed([], False, [("c", 3), ("b", 2), ("a", 1)], after="a", limit=1)
    assert (page, resume) == ([2], "b")


def test_two_extras_with_one_key_come_once_and_a_page_holds_one_item_at_least():
    assert merge_keyed([], False, [("a", 1), ("a", 2)], after="", limit=5) == ([1], None)
    with pytest.raises(ValueError):
        merge_keyed([], False, [], after="", limit=0)
