"""threadlog: an event-sourced actor runtime for agent conversation threads."""

from threadlog.events import __version__

__all__ = ["__version__"]
