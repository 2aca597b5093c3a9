"""Stage 6, jobs: training, finding a learning rate and captioning in the background, held in a registry."""
