"""core.venue_vocabulary: table lookups that warn once per unknown value."""

from __future__ import annotations

import logging

import pytest

from adapters.core.parse.venue_vocabulary import VenueVocabulary

_log = logging.getLogger("tests.vocabulary")


def test_known_value_is_returned_without_warning(caplog: pytest.LogCaptureFixture) -> None:
    vocab = VenueVocabulary("Venue", _log)
    with caplog.at_level(logging.WARNING):
        assert vocab.lookup({"BUY": 1}, "BUY", "order side", 0) == 1
    assert not caplog.records


def test_unknown_value_falls_back_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    vocab = VenueVocabulary("Venue", _log)
    with caplog.at_level(logging.WARNING):
        assert vocab.lookup({"BUY": 1}, "HOLD", "order side", 0, shown="hold") == 0
        assert vocab.lookup({"BUY": 1}, "HOLD", "order side", 0, shown="hold") == 0
    assert [r.getMessage() for r in caplog.records] == [
        "Unknown Venue order side 'hold'; using fallback mapping"
    ]
    assert caplog.records[0].name == "tests.vocabulary"
