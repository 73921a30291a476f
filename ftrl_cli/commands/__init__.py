"""The work behind each CLI command, free of click."""
