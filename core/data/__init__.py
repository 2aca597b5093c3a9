"""Stage 1, data: CIFAR-10 sources read into uint8 tensors, safe image decoding, batches and corruptions."""
