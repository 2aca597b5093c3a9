"""Stage 8, the command line: `python -m core`, one module per command group."""
