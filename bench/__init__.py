"""Throughput and SQL-count benchmark of the Flow API (``bin/bench``); not part of the app."""
