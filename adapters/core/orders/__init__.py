"""What the node knows about its orders and how venue facts become NautilusTrader events exactly once:
order tracking, order facts, fill and status rules, resolution of ambiguous command outcomes by querying
the venue, reports for external orders and positions, the balance clock and the startup repair of
NautilusTrader's Redis write gap.
"""
