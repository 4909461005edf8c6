from __future__ import annotations

import pytest

from tactful.render import check_pii_leak


@pytest.mark.parametrize(
    ("text", "values", "leaked"),
    [
        ("We emailed jane.doe@example.com today.", ["jane.doe@example.com"], ["jane.doe@example.com"]),
        ("We emailed JANE.DOE@EXAMPLE.COM today.", ["jane.doe@example.com"], ["jane.doe@example.com"]),
        ("Hi Jane   Doe, thanks.", ["jane doe"], ["jane doe"]),
        ("Call us back on 020 7946 0958.", ["02079460958"], ["02079460958"]),
        ("Call (020) 7946-0958 now", ["020 7946 0958"], ["020 7946 0958"]),
        ("Number 2079460958 noted", ["020 7946 0958"], ["020 7946 0958"]),  # leading zero dropped
        ("Card 4111-1111-1111-1111 declined", ["4111 1111 1111 1111"], ["4111 1111 1111 1111"]),
        ("Your card ending 1111 was declined", ["4111 1111 1111 1111"], []),  # a last-four mask is fine
        ("Refunds take 5 to 10 working days.", ["5", "10"], ["5", "10"]),  # short values: plain match only
        ("Order 123 and 456 arrive", ["123456"], []),  # digits from separate numbers do not combine
        ("Nothing personal here.", ["jane@example.com", "+44 20 7946 0958"], []),
        ("Twice: a@b.co a@b.co", ["a@b.co", "a@b.co", ""], ["a@b.co"]),
        ("", ["anything"], []),
    ],
)
def test_check_pii_leak(text: str, values: list[str], leaked: list[str]) -> None:
    assert check_pii_leak(text, values) == leaked


def test_accepts_any_iterable() -> None:
    assert check_pii_leak("mail x@y.z", (v for v in ["x@y.z"])) == ["x@y.z"]
