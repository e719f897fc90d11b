"""Blocking I/O for the log and the index: rollout files, the name index, the state DB."""
