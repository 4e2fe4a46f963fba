"""The command line: commands, the chat REPL, rendering answers as text, the server, the doctor."""

from rag.cli.commands import main

__all__ = ["main"]
