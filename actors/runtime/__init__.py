"""The runtime: one actor per loaded thread, the turns they run, and the host API.

``host_api.Runtime`` is the facade a host embeds; ``registry`` keeps the loaded actors;
``actor`` is the one writer of a thread's log; ``live_turn`` is the handle a driver drives;
``recorder`` and ``index_sync`` are its two sinks (the log and the index).
"""
