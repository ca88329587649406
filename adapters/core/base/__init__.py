"""Foundations with no venue, no socket and no NautilusTrader order logic: retry delays, the coalescing
trigger, owned task sets, time units, secret masking, bounded de-duplication, rate windows, the bridge
from standard logging into NautilusTrader's and a package's lazily imported exports. Everything above
builds on these; they import nothing else from the adapters.
"""
