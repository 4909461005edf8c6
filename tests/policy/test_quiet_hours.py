"""Quiet hours in the customer's wall-clock time, across zones and DST changes, to the exact minute."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from policy_builders import make_input, policy_yaml

from tactful.domain import Channel, CustomerProfile, Preferences, QuietHours
from tactful.policy import load_policy
from tactful.policy.local_time import in_quiet_window, resolve_clock

POLICY = load_policy(policy_yaml(channels="  preference: [chat, sms, voice, email]"))
NIGHT = QuietHours(start=time(21, 0), end=time(8, 0))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


CASES = [
    # zone, instant (UTC), window, expected quiet — the comment is the local wall-clock time
    ("America/New_York", "2026-03-08T11:59", NIGHT, True),  # 07:59 EDT, first morning of DST
    ("America/New_York", "2026-03-08T12:00", NIGHT, False),  # 08:00 EDT (a fixed UTC-5 would say 07:00)
    ("America/New_York", "2026-03-09T00:59", NIGHT, False),  # 20:59 EDT
    ("America/New_York", "2026-03-09T01:00", NIGHT, True),  # 21:00 EDT
    ("America/New_York", "2026-11-01T12:59", NIGHT, True),  # 07:59 EST, first morning after DST
    ("America/New_York", "2026-11-01T13:00", NIGHT, False),  # 08:00 EST
    ("America/New_York", "2026-11-01T05:15", QuietHours(start=time(1), end=time(1, 45)), True),  # 01:15 EDT
    (
        "America/New_York",
        "2026-11-01T06:15",
        QuietHours(start=time(1), end=time(1, 45)),
        True,
    ),  # 01:15 EST again
    ("America/New_York", "2026-11-01T06:45", QuietHours(start=time(1), end=time(1, 45)), False),  # 01:45 EST
    ("America/New_York", "2026-03-08T06:59", QuietHours(start=time(2), end=time(3)), False),  # 01:59 EST
    (
        "America/New_York",
        "2026-03-08T07:00",
        QuietHours(start=time(2), end=time(3)),
        False,
    ),  # 03:00: 02:xx skipped
    ("Europe/London", "2026-03-29T06:59", NIGHT, True),  # 07:59 BST
    ("Europe/London", "2026-03-29T07:00", NIGHT, False),  # 08:00 BST
    ("Europe/London", "2026-03-29T00:59", QuietHours(start=time(1), end=time(2)), False),  # 00:59 GMT
    ("Europe/London", "2026-03-29T01:00", QuietHours(start=time(1), end=time(2)), False),  # 02:00 BST
    ("Asia/Kolkata", "2026-06-15T02:29", NIGHT, True),  # 07:59 IST (+05:30)
    ("Asia/Kolkata", "2026-06-15T02:30", NIGHT, False),  # 08:00 IST
    ("Asia/Kolkata", "2026-06-15T15:29", NIGHT, False),  # 20:59 IST
    ("Asia/Kolkata", "2026-06-15T15:30", NIGHT, True),  # 21:00 IST
    ("Australia/Lord_Howe", "2026-01-14T20:59", NIGHT, True),  # 07:59 (+11, summer)
    ("Australia/Lord_Howe", "2026-01-14T21:00", NIGHT, False),  # 08:00 (+11)
    ("Australia/Lord_Howe", "2026-04-04T21:29", NIGHT, True),  # 07:59 (+10:30, the day DST ends)
    ("Australia/Lord_Howe", "2026-04-04T21:30", NIGHT, False),  # 08:00 (+10:30)
    (
        "Australia/Lord_Howe",
        "2026-04-04T14:59",
        QuietHours(start=time(1, 30), end=time(2)),
        True,
    ),  # 01:59 +11
    (
        "Australia/Lord_Howe",
        "2026-04-04T15:00",
        QuietHours(start=time(1, 30), end=time(2)),
        True,
    ),  # 01:30 +10:30
    ("Australia/Lord_Howe", "2026-04-04T15:30", QuietHours(start=time(1, 30), end=time(2)), False),  # 02:00
    ("UTC", "2026-06-15T12:59", QuietHours(start=time(13), end=time(14)), False),  # same-day window
    ("UTC", "2026-06-15T13:00", QuietHours(start=time(13), end=time(14)), True),
    ("UTC", "2026-06-15T13:59", QuietHours(start=time(13), end=time(14)), True),
    ("UTC", "2026-06-15T14:00", QuietHours(start=time(13), end=time(14)), False),
    ("UTC", "2026-06-15T03:00", QuietHours(start=time(8), end=time(8)), False),  # start == end: no window
]


@pytest.mark.parametrize(("zone", "instant", "window", "quiet"), CASES)
def test_quiet_hours_boundaries(zone: str, instant: str, window: QuietHours, quiet: bool) -> None:
    inp = make_input(
        profile=CustomerProfile(time_zone=zone),
        preferences=Preferences(quiet_hours=window),
        now=utc(instant),
    )
    assert resolve_clock(inp).in_quiet_hours is quiet
    result = POLICY.evaluate(inp)
    offered = {result.channel.primary, *result.channel.fallbacks}
    assert (Channel.SMS in offered) is not quiet
    assert (Channel.VOICE in offered) is not quiet
    assert Channel.EMAIL in offered
    assert ("guardrail.quiet_hours" in result.rules_fired) is quiet


def test_the_instant_not_its_offset_decides() -> None:
    instant = utc("2026-03-08T11:59")
    tokyo = instant.astimezone(timezone(timedelta(hours=9)))
    inp_utc = make_input(profile=CustomerProfile(time_zone="America/New_York"), now=instant)
    inp_tokyo = make_input(profile=CustomerProfile(time_zone="America/New_York"), now=tokyo)
    assert resolve_clock(inp_utc).in_quiet_hours and resolve_clock(inp_tokyo).in_quiet_hours
    assert POLICY.evaluate(inp_utc).channel == POLICY.evaluate(inp_tokyo).channel


def test_replying_on_an_intrusive_channel_the_customer_is_using_is_allowed() -> None:
    inp = make_input(
        channel=Channel.SMS, profile=CustomerProfile(time_zone="Asia/Kolkata"), now=utc("2026-06-15T20:00")
    )
    result = POLICY.evaluate(inp)
    assert (result.channel.primary, result.proactive) == (Channel.SMS, False)
    assert Channel.VOICE not in result.channel.fallbacks
    assert result.rules_fired == ("guardrail.quiet_hours",)


def test_no_quiet_hours_preference_means_never_quiet() -> None:
    inp = make_input(preferences=Preferences(quiet_hours=None), profile=None, now=utc("2026-06-15T03:00"))
    result = POLICY.evaluate(inp)
    assert Channel.SMS in result.channel.fallbacks
    assert not any("time zone unknown" in n for n in result.notes)


def test_features_time_zone_is_used_when_personalisation_is_off() -> None:
    noon_kolkata = utc("2026-06-15T06:30")
    result = POLICY.evaluate(
        make_input(profile=None, features={"time_zone": "Asia/Kolkata"}, now=noon_kolkata)
    )
    assert Channel.SMS in result.channel.fallbacks
    bogus = POLICY.evaluate(
        make_input(profile=None, features={"time_zone": "Mars/Olympus"}, now=noon_kolkata)
    )
    assert Channel.SMS not in bogus.channel.fallbacks  # unknown zone: assume quiet
    assert any("not an IANA zone" in n for n in bogus.notes)


def test_naive_now_is_read_as_utc_with_a_note() -> None:
    inp = make_input(profile=CustomerProfile(time_zone="UTC"), now=datetime(2026, 6, 15, 23, 0))
    clock = resolve_clock(inp)
    assert clock.in_quiet_hours
    assert any("no time zone" in n for n in clock.notes)


@pytest.mark.parametrize(
    ("start", "end", "at", "inside"),
    [
        (time(22), time(6), time(21, 59, 59), False),
        (time(22), time(6), time(22), True),
        (time(22), time(6), time(0), True),
        (time(22), time(6), time(5, 59, 59), True),
        (time(22), time(6), time(6), False),
        (time(9), time(17), time(9), True),
        (time(9), time(17), time(17), False),
    ],
)
def test_in_quiet_window(start: time, end: time, at: time, inside: bool) -> None:
    assert in_quiet_window(at, QuietHours(start=start, end=end)) is inside
