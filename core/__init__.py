"""CIFAR-10 Studio's engine. Never imports Streamlit: the pages, the CLI, the tests and the benchmarks all drive it.

The folder listing is the plan, one package per stage; a module imports only from its own stage or earlier ones:

    errors recipe device storage bounds   what every stage shares (user errors, the recipe's numbers, files, ranges)
    data/      CIFAR-10 sources read into uint8 tensors, safe image decoding, batches, corruptions
    models/    layer specs, the modules they build, limits, the spec's JSON codec
    training/  settings, the one training loop, evaluation, the learning-rate finder, presets
    runs/      run folders on disk, summaries, the live curve, the standalone PyTorch export
    insight/   looking into a trained run: calibration, Grad-CAM, neighbours, robustness, time-lapse
    jobs/      work in background threads and their registry
    caption/   scenes, the attention captioner, its training, evaluation, runs and job
    classroom/ accounts, who sees which run, the fair queue and the scheduler every run starts through
    cli/       `python -m core`
"""
