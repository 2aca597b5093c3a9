"""Stage 7, captioning: scenes, the attention captioner, its training, evaluation, runs and background job."""
