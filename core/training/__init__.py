"""Stage 3, training: the config, the one training loop, evaluation, the learning-rate finder, presets."""
