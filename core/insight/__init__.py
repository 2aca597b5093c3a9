"""Stage 5, insight: looking into a trained run (calibration, Grad-CAM, neighbours, robustness, time-lapse)."""
