"""The trio runtime: thread actors, the manager, the host API, the JSON-RPC server, the CLI."""
