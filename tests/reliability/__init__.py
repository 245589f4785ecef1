"""Reliability tests: processes killed mid-work, a misbehaving replay server, fuzzed payloads, a busy database."""
