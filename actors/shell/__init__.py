"""The shell side of a turn: commands and their sandbox, AGENTS.md, git, the environment."""
