"""Realtime conversations: sessions over a transport with bounded queues."""
