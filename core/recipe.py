"""The training recipe's fixed numbers in one table, each with its unit. Settings a person changes per run (learning
rate, batch size, epochs, ...) live on TrainConfig (core/training/config.py) with their ranges; each preset's values
for them sit, literally and with units, in its table in core/training/presets.py. What is here is the machinery those
settings drive, named so it can be read and changed in one place (airbench keeps its recipe the same way).
`python -m core models --recipe NAME` prints a preset's table and these numbers together (docs/recipe.md)."""

# --- input normalization: the tutorial's Normalize((0.5,) * 3, (0.5,) * 3) after ToTensor, the same for each channel
NORMALIZE_MEAN = 0.5  # pixel units (0 black, 1 white), subtracted: mid-grey becomes 0
NORMALIZE_STD = 0.5  # pixel units, divided by: pixels span -1..1, two units where pixels span one

# --- learning-rate schedules: multipliers of the peak rate, as functions of progress through the run (0..1)
ONECYCLE_WARMUP = 0.2  # share of the run spent rising linearly from 0 to the peak; then linearly down to 0
TRIANGLE_START = 0.2  # airbench's triangle: starts at 0.2 x peak,
TRIANGLE_PEAK_AT = 0.23  # reaches the peak at 23% of the run,
TRIANGLE_END = 0.07  # and ends at 0.07 x peak

# --- Lookahead weight averaging (airbench), when TrainConfig.lookahead is on
LOOKAHEAD_EVERY = 5  # steps between pulls of the weights towards their slow average
LOOKAHEAD_START = 0.3  # share of the run before the average starts
LOOKAHEAD_DECAY = 0.95  # per step; a pull moves the average by 1 - DECAY**EVERY * progress**3 (stronger late)

# --- optimizers (the first moment's decay is TrainConfig.momentum)
ADAM_BETA2 = 0.999  # Adam's and AdamW's decay per step of the squared-gradient average (PyTorch's default)

# --- BatchNorm2d (its momentum is a layer setting: the airbench presets' value is in their table)
BN_EPS = 1e-5  # added to the variance (PyTorch's default)
BN_EPS_FIXED_SCALE = 1e-12  # with learn_scale=False the scale stays 1 (airbench), so the eps only guards a zero variance

# --- PatchWhiten (the presets' first layer: a frozen conv that whitens 2x2 patches)
WHITEN_IMAGES = 5000  # training images whose patches set the whitening, before training starts
WHITEN_EPS = 5e-4  # added to each eigenvalue of the patch covariance (normalized pixels squared)

# --- evaluation
EVAL_BATCH = 1000  # images per forward pass when scoring
TTA_SHIFT = 1  # pixels of the diagonal shifts test-time augmentation level 2 averages over (reflect-padded)

# --- data
HOLDOUT_SEED = 20240613  # the calibration slice is the same images for every run (TrainConfig.holdout)
HOLDOUT_MAX_SHARE = 0.2  # at most this share of a dataset is held out, whatever holdout asks for
SMALL_BATCH = 16  # at most this many images per step, a CPU step is per-operator overhead: train on one thread

# --- captioning (core/caption)
CAPTION_ADAPT_LR = 3e-4  # Adam's learning rate per step (mean loss) adapting the encoder, falling linearly to zero
CAPTION_GRAD_CLIP = 5.0  # largest L2 norm per step of all the captioner's trainable gradients together
