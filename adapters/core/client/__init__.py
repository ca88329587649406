"""The execution-client skeleton both venues compose (wiring, connect and disconnect order, report
generators, adoption and reconciliation helpers), the configuration fields and checks both venues'
clients share, NautilusTrader's client factories (one HTTP client and instrument provider per
account) and the clients' Prometheus metrics. The top layer: it may import every layer below.
"""
