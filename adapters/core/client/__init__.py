"""The execution-client skeleton both venues compose (wiring, connect and disconnect order, report
generators, adoption and reconciliation helpers) and the clients' Prometheus metrics. The top layer: it
may import every layer below.
"""
