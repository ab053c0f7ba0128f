"""The web UI: server-rendered pages on the read API's answers."""
