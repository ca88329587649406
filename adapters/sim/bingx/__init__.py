"""BingX USDT-M perpetual-swap wire dialect of the local venue simulator.

``app.BingxVenue`` assembles REST (``rest``, under ``/openApi/...``), the user-data stream
(``user_stream``), the market stream (``market_stream``) and the one websocket endpoint
``/swap-market`` (``ws``) around the same venue-neutral ``VenueEngine`` the Binance dialect uses.
"""
