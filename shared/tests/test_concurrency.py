"""If-Match (RFC 9110 §13.1.1): strong comparison, quoted entity-tags, the current ETag on every 412."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from planeco_shared.concurrency import check_if_match, entity_tags
from planeco_shared.problems import PreconditionFailed, PreconditionRequired

CURRENT = '"a1-v2"'


def request_with(if_match: str | None) -> Request:
    headers = [] if if_match is None else [(b"if-match", if_match.encode("latin-1"))]
    return Request({"type": "http", "method": "PATCH", "path": "/", "headers": headers})


@pytest.mark.parametrize("header", [CURRENT, "*", f' "old" , {CURRENT}', f'W/"x", {CURRENT}', f"{CURRENT},"])
def test_the_current_strong_etag_or_a_star_matches(header: str) -> None:
    check_if_match(request_with(header), CURRENT)


def test_no_if_match_is_428() -> None:
    with pytest.raises(PreconditionRequired):
        check_if_match(request_with(None), CURRENT)


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (f"W/{CURRENT}", "weak"),
        ("a1-v2", "double quotes"),
        ('"a1-v2', "double quotes"),
        ("", "double quotes"),
        ('"a1-v1"', "changed"),
    ],
)
def test_a_weak_unquoted_or_stale_etag_is_412_with_the_current_etag(header: str, says: str) -> None:
    with pytest.raises(PreconditionFailed) as failed:
        check_if_match(request_with(header), CURRENT)
    assert failed.value.headers["ETag"] == CURRENT
    assert says in (failed.value.detail or "")


def test_entity_tags_parse_lists_and_refuse_what_is_not_one() -> None:
    assert entity_tags('"a", W/"b" ,,"c"') == [(False, '"a"'), (True, '"b"'), (False, '"c"')]
    assert entity_tags("a, b") is None
    assert entity_tags('"a" "b"') is None
