"""The user-data stream that never goes blind: listen-key keepalive, the recovery driver (new key and REST
snapshot first, then connect, backfill, swap, drain the old dispatcher, start the new one), the gap sync
that reconciles quantities after every gap and the frame of both venues' REST syncs, the part both
venues' user-frame handlers share (their guarded entry point), the stream as one owned service, and the
held start while NautilusTrader reconciles.
"""
