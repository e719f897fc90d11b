"""``threadlog serve``: the app-server JSON-RPC protocol over a connection to one runtime."""
