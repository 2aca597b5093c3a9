"""Stage 4, runs: run folders on disk, their summaries, the live loss curve and the standalone PyTorch export."""
