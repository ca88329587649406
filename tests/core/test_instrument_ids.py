"""core.instrument_ids: perpetual instrument ids, their inverse, and venue position ids."""

from __future__ import annotations

from nautilus_trader.model.identifiers import InstrumentId, Venue

from adapters.core.parse.instrument_ids import PerpInstrumentIds, make_position_id, strip_perp_suffix

VENUE = Venue("TESTVENUE")


def test_ids_are_cached_for_the_default_venue_only() -> None:
    ids = PerpInstrumentIds(VENUE)
    first = ids.get("BTC-USDT", VENUE)
    assert str(first) == "BTC-USDT-PERP.TESTVENUE"
    assert ids.get("BTC-USDT", VENUE) is first
    other = Venue("OTHER")
    assert str(ids.get("BTC-USDT", other)) == "BTC-USDT-PERP.OTHER"


def test_custom_name_and_inverse() -> None:
    ids = PerpInstrumentIds(VENUE, lambda s: s if "_" in s else f"{s}-PERP")
    assert str(ids.get("BTCUSDT_250627", VENUE)) == "BTCUSDT_250627.TESTVENUE"
    assert strip_perp_suffix(ids.get("BTCUSDT", VENUE)) == "BTCUSDT"
    assert strip_perp_suffix(InstrumentId.from_str("BTCUSDT_250627.TESTVENUE")) == "BTCUSDT_250627"


def test_position_id() -> None:
    iid = InstrumentId.from_str("BTCUSDT-PERP.TESTVENUE")
    assert str(make_position_id(iid, "LONG")) == "BTCUSDT-PERP.TESTVENUE-LONG"
    assert str(make_position_id(iid, None)) == "BTCUSDT-PERP.TESTVENUE-BOTH"
    assert str(make_position_id(iid, "")) == "BTCUSDT-PERP.TESTVENUE-BOTH"
