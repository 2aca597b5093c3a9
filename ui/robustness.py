"""The Evaluate page's "real photos" section: accuracy under each corruption and severity, and what one test image
looks like, and is taken for, under each of them."""
from __future__ import annotations

import streamlit as st
import torch

from core.data.corruptions import CORRUPTIONS, SEVERITIES, corrupt
from core.insight.robustness import run_robustness, saved_report
from core.training.evaluate import predict_logits
from ui.figures import robustness_figure
from ui.widgets import image_grid_ui

SIZES = (500, 1000, 2000, 5000, 10_000)


def robustness_ui(run, model, dataset) -> None:
    st.subheader("How it holds up on real photos")
    st.caption("A photo from a phone is not a CIFAR-10 test image: noise, blur, compression, light, colour, framing. "
               f"Here the test images are corrupted {len(CORRUPTIONS)} ways at 5 severities (after CIFAR-10-C) and "
               "scored by the network alone (no test-time augmentation), so clean and corrupted compare like for like.")
    report = saved_report(run, dataset)
    sizes = [s for s in SIZES if s <= len(dataset.test_x)] or [len(dataset.test_x)]
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    n = c1.select_slider("Test images per corrupted set", sizes, min(1000, sizes[-1]), key="robust_images",
                         help="The first N test images, each corrupted 70 ways. 1,000 took 39 s for a `robust` "
                              "run on 2 CPU cores; the result is kept with the run.")
    if c2.button("Measure", key="robust_go", type="primary"):
        bar = st.progress(0.0, text="Corrupting the test images…")
        report = run_robustness(run, model, dataset, n, progress=lambda done, total, what: bar.progress(
            done / total, text=f"{what} ({done}/{total} sets)"))
        bar.empty()
    if report is None:
        st.info("Not measured yet for these weights: press **Measure**.")
    else:
        k1, k2, k3 = st.columns(3)
        k1.metric("Clean (no TTA)", f"{report.clean:.1%}", help=f"the first {report.images:,} test images")
        k2.metric("Corrupted, mean", f"{report.mean:.1%}", delta=f"{(report.mean - report.clean) * 100:+.1f} points",
                  help="The mean over every corruption and severity: CIFAR-10-C's headline figure.")
        worst = min(report.accuracy, key=report.mean_of)
        k3.metric("Hardest", CORRUPTIONS[worst].label, help=f"{report.mean_of(worst):.1%} over its 5 severities")
        st.plotly_chart(robustness_figure([c.label for c in CORRUPTIONS.values()],
                                          [[report.accuracy[n][s] for s in SEVERITIES] for n in CORRUPTIONS],
                                          report.clean), width="stretch", key="robustness_chart")
        st.caption(" · ".join(f"**{c.label}**: {c.imitates}" for c in CORRUPTIONS.values()))
    examples_ui(model, dataset)


def examples_ui(model, dataset) -> None:
    classes = list(dataset.classes)
    e1, e2 = st.columns(2)
    index = e1.number_input("Example: test image #", 0, len(dataset.test_x) - 1, 0, key="robust_example")
    severity = e2.select_slider("Severity", list(SEVERITIES), 3, key="robust_severity")
    image = dataset.test_x[int(index)][None]
    views = torch.cat([image] + [corrupt(image, name, severity) for name in CORRUPTIONS])
    guesses = predict_logits(model, views).argmax(1).tolist()
    truth = int(dataset.test_y[int(index)])
    names = ["clean"] + [c.label for c in CORRUPTIONS.values()]
    image_grid_ui(views, [f"{name}: {classes[g]}{'' if g == truth else ' ✗'}" for name, g in zip(names, guesses)], 8)
