from __future__ import annotations

import pytest

from kubetrail.timeutil import TimeError, epoch_to_ns, format_ns, parse_rfc3339


def test_rfc3339_keeps_nanoseconds_and_zones() -> None:
    assert parse_rfc3339("2021-10-04T14:28:38.735173594Z") == 1633357718735173594
    assert parse_rfc3339("2018-10-26T13:38:34Z") == 1540561114 * 10**9
    assert parse_rfc3339("2016-08-04T16:17:57.881781397+02:00") == parse_rfc3339("2016-08-04T14:17:57.881781397Z")
    assert parse_rfc3339("2022-02-01T18:01:56.411Z") == 1643738516411000000


def test_malformed_times_are_errors() -> None:
    for bad in ("2021-04-13T20:58:00.746609046Z+2", "yesterday", "2021-13-01T00:00:00Z", ""):
        with pytest.raises(TimeError):
            parse_rfc3339(bad)


def test_epoch_unit_is_read_from_its_magnitude() -> None:
    assert epoch_to_ns(1618347519000000) == 1618347519000000000  # µs
    assert epoch_to_ns(1685022245478445995) == 1685022245478445995  # ns
    assert epoch_to_ns(1683727757699) == 1683727757699000000  # ms
    assert epoch_to_ns(1683727757) == 1683727757000000000  # s


def test_format_is_the_contract_form() -> None:
    assert format_ns(1633357718735173594) == "2021-10-04T14:28:38.735173594Z"
    assert format_ns(parse_rfc3339("2026-11-28T10:15:02Z")) == "2026-11-28T10:15:02.000000000Z"
