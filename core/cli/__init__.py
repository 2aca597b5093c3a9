"""Stage 9, the command line: `python -m core`, one module per command group."""
