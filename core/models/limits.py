"""Model-wide limits every spec is checked against: big enough for any sane CIFAR-10 net, small enough that a
hostile or mistaken spec cannot exhaust the server."""

SPEC_VERSION = 1
INPUT_SHAPE = (3, 32, 32)  # CIFAR-10 images: channels, height, width
NUM_CLASSES = 10
MAX_CHANNELS = 4096  # per layer; wider than any sane CIFAR-10 net
MAX_LAYERS = 200
MAX_PARAMETERS = 200_000_000
MAX_ACTIVATIONS = 4_000_000  # numbers in all layer outputs for one image; ~2 GB of float32 at batch 128
