"""Binance USD-M Futures wire dialect of the local venue simulator.

``app.BinanceVenue`` assembles REST (``rest``), user-data streams (``user_stream``), market streams
(``market_stream``) and the WebSocket trading API (``ws_api``) around one ``VenueEngine``.
"""
