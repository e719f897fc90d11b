"""Public helpers for testing code built on threadlog (like ``trio.testing``)."""
