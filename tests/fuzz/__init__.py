"""Fuzzing: structure-aware mutation of wire payloads against the adapters (see docs/chaos.md)."""
