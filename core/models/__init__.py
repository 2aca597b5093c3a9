"""Stage 2, models: typed layer specs, the modules they build, model-wide limits and the spec's JSON codec."""
