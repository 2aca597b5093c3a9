"""Plotly figure builders shared by every page; pure functions of the engine's records and plain data, so tests can
check them."""
from __future__ import annotations

import plotly.graph_objects as go

from core.runs.curve import (  # per-step lines are thinned to about MAX_POINTS points
    MAX_POINTS,
    smoothed_losses,
)
from core.training.history import (
    CaptionEpochReport,
    EpochReport,
    Event,
    History,
    StepReport,
)

PALETTE = ["#e4572e", "#29335c", "#f3a712", "#669bbc", "#a8c686", "#8e6c8a", "#4c9f70", "#d1495b", "#00798c", "#edae49"]


# plotly_white's look, spelled out: naming the template deep-copies it on every figure, which was most of the cost
# of redrawing the live chart each second (py-spy on the server during a run)
_AXIS = dict(gridcolor="#ebf0f8", zerolinecolor="#ebf0f8", linecolor="#ebf0f8", automargin=True)


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 320) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=10, r=10, t=40, b=10), template=None,
                      legend=dict(orientation="h", y=-0.25), plot_bgcolor="white", paper_bgcolor="white",
                      font=dict(color="#2a3f5f"), colorway=PALETTE,
                      xaxis=dict(title=x, **_AXIS), yaxis=dict(title=y, **_AXIS))
    return fig


def loss_figure(steps: list[StepReport], events: list[Event] | None = None, title: str = "Training loss") -> go.Figure:
    """Per-step loss and its moving average (core.runs.curve.smoothed_losses). At most about MAX_POINTS points are
    drawn, whatever the run's length."""
    fig = go.Figure()
    xs, ys, smooth = [s.step for s in steps], [s.loss for s in steps], smoothed_losses(steps, events)
    stride = max(1, len(xs) // MAX_POINTS)
    fig.add_scatter(x=xs[::stride], y=ys[::stride], mode="lines", name="per step", line=dict(color="#c8c8d0", width=1))
    fig.add_scatter(x=xs[::stride], y=smooth[::stride], mode="lines", name="smoothed", line=dict(color=PALETTE[0], width=3))
    for e in events or []:
        if e.type == "lr":
            fig.add_vline(x=e.step, line_dash="dot", line_color=PALETTE[1],
                          annotation_text=f"lr {e.lr_from:.2g}→{e.lr_to:.2g}", annotation_position="top left")
        elif e.type == "adapt":
            fig.add_vline(x=e.step, line_dash="dot", line_color=PALETTE[2],
                          annotation_text="← encoder adapting (objects) · captions (per word) →",
                          annotation_position="top")
        elif e.type == "stop":
            fig.add_vline(x=e.step, line_dash="dash", line_color="#888", annotation_text="stop")
    return _layout(fig, title, "step", "cross-entropy loss")


def accuracy_figure(epochs: list[EpochReport], classes: list[str] | None = None, per_class: bool = False) -> go.Figure:
    fig = go.Figure()
    xs = [e.epoch for e in epochs]
    if per_class and classes:
        for i, c in enumerate(classes):
            fig.add_scatter(x=xs, y=[e.per_class_accuracy.get(c, 0) * 100 for e in epochs], mode="lines+markers",
                            name=c, line=dict(color=PALETTE[i % len(PALETTE)]))
    else:
        fig.add_scatter(x=xs, y=[e.train_accuracy * 100 for e in epochs], mode="lines+markers", name="train",
                        line=dict(color=PALETTE[2]))
        fig.add_scatter(x=xs, y=[e.test_accuracy * 100 for e in epochs], mode="lines+markers", name="test",
                        line=dict(color=PALETTE[1], width=3))
        held = [getattr(e, "holdout_accuracy", None) for e in epochs]
        if any(v is not None for v in held):  # what the best epoch and early stopping are judged by
            fig.add_scatter(x=xs, y=[None if v is None else v * 100 for v in held], mode="lines+markers",
                            name="held out", line=dict(color=PALETTE[3], dash="dash"))
    fig.update_yaxes(range=[0, 100])
    fig.update_xaxes(dtick=1)
    return _layout(fig, "Accuracy per epoch" + (" by class" if per_class else ""), "epoch", "accuracy (%)")


def class_bar_figure(classes: list[str], values: list[float], title: str, y: str, percent: bool = False) -> go.Figure:
    shown = [v * 100 for v in values] if percent else values
    fig = go.Figure(go.Bar(x=classes, y=shown, marker_color=PALETTE[: len(classes)] * (len(classes) // 10 + 1),
                           text=[f"{v:.1f}%" if percent else f"{v:,}" for v in shown], textposition="outside"))
    if percent:
        fig.update_yaxes(range=[0, 105])
    return _layout(fig, title, "", y)


def counts_figure(classes: list[str], counts: dict[str, list[int]]) -> go.Figure:
    fig = go.Figure()
    for i, (split, values) in enumerate(counts.items()):
        fig.add_bar(x=classes, y=values, name=split, marker_color=PALETTE[i])
    fig.update_layout(barmode="group")
    return _layout(fig, "Images per class", "", "images")


def precision_recall_figure(classes: list[str], precision: dict, recall: dict) -> go.Figure:
    fig = go.Figure()
    fig.add_bar(x=classes, y=[precision[c] * 100 for c in classes], name="precision", marker_color=PALETTE[1])
    fig.add_bar(x=classes, y=[recall[c] * 100 for c in classes], name="recall", marker_color=PALETTE[0])
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 100])
    return _layout(fig, "Precision and recall per class", "", "%")


def confusion_figure(classes: list[str], confusion: list[list[int]]) -> go.Figure:
    """A heatmap with an invisible marker on every cell: plotly heatmaps report no selection when clicked
    (streamlit#8760), markers do, so a click on a cell selects that cell's (predicted, true) pair."""
    fig = go.Figure(go.Heatmap(z=confusion, x=classes, y=classes, colorscale="Blues", text=confusion,
                               texttemplate="%{text}", hoverinfo="skip"))
    cells = [(p, t, confusion[i][j]) for i, t in enumerate(classes) for j, p in enumerate(classes)]
    fig.add_scatter(x=[p for p, _, _ in cells], y=[t for _, t, _ in cells], customdata=[n for _, _, n in cells],
                    mode="markers", marker=dict(size=36, symbol="square", opacity=0), showlegend=False,
                    name="cells", hovertemplate="true %{y}, predicted %{x}: %{customdata}<extra></extra>")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(clickmode="event+select", dragmode=False)
    return _layout(fig, "Confusion matrix (click a cell to see its images)", "predicted class", "true class", 520)


def robustness_figure(labels: list[str], accuracy: list[list[float]], clean: float) -> go.Figure:
    """Accuracy (%) per corruption (rows, worst mean first) and severity (columns), beside the clean accuracy."""
    order = sorted(range(len(labels)), key=lambda i: sum(accuracy[i]))
    z = [[clean * 100] + [a * 100 for a in accuracy[i]] for i in order]
    fig = go.Figure(go.Heatmap(z=z, x=["clean", "1", "2", "3", "4", "5"], y=[labels[i] for i in order],
                               colorscale="RdYlGn", zmin=max(0.0, min(min(r) for r in z) - 5), zmax=100,
                               text=[[f"{v:.0f}" for v in row] for row in z], texttemplate="%{text}",
                               hovertemplate="%{y}, severity %{x}: %{z:.1f}%<extra></extra>",
                               colorbar=dict(title="%")))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(type="category")  # "1".."5" would otherwise read as numbers and push "clean" off the axis
    return _layout(fig, "Accuracy (%) under each corruption, by severity", "severity", "", 120 + 30 * len(labels))


def topk_figure(top: list[tuple[str, float]]) -> go.Figure:
    names, probs = [c for c, _ in top][::-1], [p * 100 for _, p in top][::-1]
    fig = go.Figure(go.Bar(x=probs, y=names, orientation="h", marker_color=PALETTE[0],
                           text=[f"{p:.1f}%" for p in probs], textposition="outside"))
    fig.update_xaxes(range=[0, 110])
    return _layout(fig, f"Top {len(top)} classes", "probability (%)", "", 280)


def compare_figure(histories: dict[str, History], metric: str) -> go.Figure:
    """Overlay runs: metric is 'loss' (smoothed per step) or 'test_accuracy' (per epoch)."""
    fig = go.Figure()
    for i, (name, h) in enumerate(histories.items()):
        color = PALETTE[i % len(PALETTE)]
        if metric == "loss":
            stride = max(1, len(h.steps) // MAX_POINTS)
            fig.add_scatter(x=[s.step for s in h.steps][::stride], y=smoothed_losses(h.steps, h.events)[::stride],
                            mode="lines", name=name, line=dict(color=color))
        else:
            fig.add_scatter(x=[e.epoch for e in h.epochs], y=[e.test_accuracy * 100 for e in h.epochs],
                            mode="lines+markers", name=name, line=dict(color=color))
    title, y = ("Smoothed loss", "loss") if metric == "loss" else ("Test accuracy", "accuracy (%)")
    return _layout(fig, title, "step" if metric == "loss" else "epoch", y)


CAPTION_SCORES = {  # CaptionEpochReport field -> what the chart calls it (varied ones: where a run scored them)
    "exact": "exact meaning", "recall": "objects named in place", "held_out_exact": "exact, held-out pairs",
    "bleu": "BLEU-4 (x100)", "varied_exact": "varied scenes: exact meaning",
    "varied_large_exact": "varied, objects ≥ 32 px: exact", "varied_large_recall": "varied, objects ≥ 32 px: objects",
}


def caption_scores_figure(epochs: list[CaptionEpochReport]) -> go.Figure:
    """A captioner's test scores after each epoch, in percent (BLEU-4 scaled to 0-100)."""
    fig = go.Figure()
    xs = [e.epoch for e in epochs]
    for i, (field, name) in enumerate(CAPTION_SCORES.items()):
        if any(getattr(e, field) is None for e in epochs):
            continue  # a run from before varied scenes did not score them
        fig.add_scatter(x=xs, y=[getattr(e, field) * 100 for e in epochs], mode="lines+markers", name=name,
                        line=dict(color=PALETTE[i % len(PALETTE)], width=3 if field.endswith("exact") else 2,
                                  dash="dot" if field.startswith("varied") else None))
    fig.update_yaxes(range=[0, 100])
    return _layout(fig, "Captions of the test scenes after each epoch", "epoch", "%")


def caption_comparison_figure(scores: dict[str, dict]) -> go.Figure:
    """Grouped bars: for each describer (learned, template), exact meaning, object precision and recall, BLEU-4."""
    fig = go.Figure()
    metrics = {"exact": "exact meaning", "precision": "object precision", "recall": "object recall",
               "bleu": "BLEU-4 (x100)"}
    for i, (who, s) in enumerate(scores.items()):
        fig.add_bar(x=list(metrics.values()), y=[s[m] * 100 for m in metrics], name=who, marker_color=PALETTE[i],
                    text=[f"{s[m] * 100:.0f}" for m in metrics], textposition="outside")
    fig.update_layout(barmode="group")
    fig.update_yaxes(range=[0, 105])
    return _layout(fig, "Learned captioner against the template describer, same test scenes", "", "%")


TIME_SCORES = {"exact": "fixed scenes: exact meaning", "recall": "fixed scenes: objects named in place",
               "varied_large_exact": "varied scenes, objects ≥ 32 px: exact",
               "varied_large_recall": "varied scenes, objects ≥ 32 px: objects named",
               "varied_exact": "varied scenes, all: exact"}


def caption_time_figure(curve: list[dict], template: dict | None = None,
                        others: dict[str, list[dict]] | None = None) -> go.Figure:
    """Caption accuracy against training seconds (bench.captioning's curve), with the template describer's scores
    on the same scenes as flat lines when given, and other runs' curves (label -> curve) as thin dashed lines."""
    fig = go.Figure()
    lines = [(f", {label}", rows, dict(dash="dash", width=1.5)) for label, rows in (others or {}).items()]
    lines.append(("", curve, dict(width=3)))
    for i, (field, name) in enumerate(TIME_SCORES.items()):
        for suffix, rows, style in lines:
            if any(row.get(field) is None for row in rows):
                continue  # curves from before the varied test scenes lack their fields
            fig.add_scatter(x=[0] + [row["seconds"] for row in rows], y=[0] + [row[field] * 100 for row in rows],
                            mode="lines+markers", name=name + suffix, line=dict(color=PALETTE[i], **style))
        if template and field in template:  # a legend entry, not a label on the line: five labels overlap
            end = max(row["seconds"] for row in curve) if curve else 1
            fig.add_scatter(x=[0, end], y=[template[field] * 100] * 2, mode="lines", showlegend=True,
                            name=f"template describer: {name} {template[field]:.0%}",
                            line=dict(color=PALETTE[i], dash="dot", width=1.5))
    fig.update_yaxes(range=[0, 100])
    return _layout(fig, "Learned captioner on the test scenes, by time", "seconds from the start (training and each "
                   "epoch's test captions)", "%", 520)


def beams_figure(sentences: list[str], scores: list[float]) -> go.Figure:
    """The beam search's best sentences, best on top, by probability (the exp of the log-probability score)."""
    import math

    fig = go.Figure()
    probs = [math.exp(s) * 100 for s in scores]
    fig.add_bar(x=probs[::-1], y=[f"{i}. {t or '(empty)'}" for i, t in reversed(list(enumerate(sentences, 1)))],
                orientation="h", marker_color=PALETTE[3], text=[f"{p:.1f}% (log-prob {s:.2f})" for p, s in
                                                              zip(probs[::-1], scores[::-1])], textposition="auto")
    return _layout(fig, "Top beams: the likeliest sentences", "probability of the whole sentence (%)", "",
                   120 + 40 * len(sentences))


def time_to_accuracy_figure(curves: dict[str, list[dict]], target: float | None = None) -> go.Figure:
    """Test accuracy against training seconds, one line per contender (points: {"train_seconds", "test_accuracy"}),
    on a log time axis so a 5-second run and a 10-minute one both read; the tutorial's final accuracy dotted."""
    fig = go.Figure()
    for i, (name, curve) in enumerate(curves.items()):
        points = [p for p in curve if p["train_seconds"] > 0]
        fig.add_scatter(x=[p["train_seconds"] for p in points], y=[p["test_accuracy"] * 100 for p in points],
                        mode="lines+markers", name=name, line=dict(color=PALETTE[i % len(PALETTE)], width=3))
    if target is not None:
        fig.add_hline(y=target * 100, line_dash="dot", line_color="#888",
                      annotation_text=f"the tutorial's 2-epoch accuracy, {target:.1%}", annotation_position="top left")
    fig.update_xaxes(type="log")
    return _layout(fig, "Time to accuracy on CIFAR-10 (test set), 2-core CPU", "training seconds (log scale; "
                   "evaluations excluded)", "test accuracy (%)", 420)


def lr_find_figure(lrs: list[float], losses: list[float], raw: list[float], suggested: float | None) -> go.Figure:
    """The range test: loss against learning rate on a log axis, the suggestion marked."""
    fig = go.Figure()
    fig.add_scatter(x=lrs, y=raw, mode="lines", name="per step", line=dict(color="#c8c8d0", width=1))
    fig.add_scatter(x=lrs, y=losses, mode="lines", name="smoothed", line=dict(color=PALETTE[0], width=3))
    if suggested:
        fig.add_vline(x=suggested, line_dash="dash", line_color=PALETTE[1],
                      annotation_text=f"suggested {suggested:.2g}", annotation_position="top left")
    fig.update_xaxes(type="log")
    if losses:  # the exploding tail would flatten everything else: show up to a little above the start
        fig.update_yaxes(range=[min(min(raw), min(losses) * 0.9), max(losses[0], min(losses)) * 1.3])
    return _layout(fig, "Loss as the learning rate grows", "learning rate (log scale)", "cross-entropy loss")


def reliability_figure(before: list[dict], after: list[dict], ece_before: float, ece_after: float) -> go.Figure:
    """Accuracy against confidence per bin, before and after calibration; the diagonal is perfect calibration."""
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 100], mode="lines", name="perfectly calibrated",
                    line=dict(color="#888", dash="dot"))
    for bins, name, colour in ((before, f"before (ECE {ece_before:.1%})", PALETTE[0]),
                               (after, f"after (ECE {ece_after:.1%})", PALETTE[1])):
        used = [b for b in bins if b["images"]]
        fig.add_scatter(x=[b["confidence"] for b in used], y=[b["accuracy"] * 100 for b in used], mode="lines+markers",
                        name=name, line=dict(color=colour, width=3), customdata=[b["images"] for b in used],
                        hovertemplate="confidence %{x:.0%}: right %{y:.1f}% of %{customdata} images<extra></extra>")
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(range=[0, 100])
    return _layout(fig, "Reliability: how often it is right when it says it is this sure", "confidence",
                   "accuracy (%)")


def abstain_figure(coverage: list[float], accuracy: list[float | None], thresholds: list[float],
                   threshold: float) -> go.Figure:
    """Accuracy of the answered images against the share answered, as the 'not sure' threshold moves."""
    points = [(c * 100, a * 100, t) for c, a, t in zip(coverage, accuracy, thresholds) if a is not None]
    fig = go.Figure()
    fig.add_scatter(x=[p[0] for p in points], y=[p[1] for p in points], mode="lines", name="every threshold",
                    line=dict(color=PALETTE[3], width=3), customdata=[p[2] for p in points],
                    hovertemplate="threshold %{customdata:.0%}: answers %{x:.1f}%, right on %{y:.1f}%<extra></extra>")
    here = min(points, key=lambda p: abs(p[2] - threshold)) if points else None
    if here:
        fig.add_scatter(x=[here[0]], y=[here[1]], mode="markers", name=f"threshold {threshold:.0%}",
                        marker=dict(size=14, color=PALETTE[0]))
    fig.update_xaxes(range=[0, 101])
    return _layout(fig, "Answer less, be right more often", "test images answered (%)", "accuracy of the answered (%)")


def leaderboard_figure(students: list[str], accuracy: list[float], runs: list[str]) -> go.Figure:
    """The best run of each student as one horizontal bar each, best on top."""
    fig = go.Figure(go.Bar(x=[a * 100 for a in accuracy], y=students, orientation="h", marker_color=PALETTE[3],
                           text=[f"{a:.1%}" for a in accuracy], textposition="auto", customdata=runs,
                           hovertemplate="%{y}: %{x:.1f}%<br>%{customdata}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Best run per student", "test accuracy (%)", "", height=max(240, 28 * len(students) + 90))


def lineage_figure(runs: list[tuple[str, History]]) -> go.Figure:
    """A run continued from others ("N more epochs"), oldest first, on one axis of epochs counted from the first
    run's start: each run's test accuracy, and its held-out accuracy dashed where it has one."""
    fig, start = go.Figure(), 0
    for i, (name, h) in enumerate(runs):
        color, xs = PALETTE[i % len(PALETTE)], [start + e.epoch for e in h.epochs]
        fig.add_scatter(x=xs, y=[e.test_accuracy * 100 for e in h.epochs], mode="lines+markers", name=f"{name} test",
                        line=dict(color=color))
        held = [getattr(e, "holdout_accuracy", None) for e in h.epochs]
        if any(v is not None for v in held):
            fig.add_scatter(x=xs, y=[None if v is None else v * 100 for v in held], mode="lines", name=f"{name} held out",
                            line=dict(color=color, dash="dash"))
        start = xs[-1] if xs else start
    fig.update_xaxes(dtick=1)
    return _layout(fig, "Accuracy across the runs it continues", "epoch (from the first run's start)", "accuracy (%)")


def settings_figure(comparison) -> go.Figure:
    """Parallel coordinates over runs: one axis per setting that differs (choices as labelled ticks), then test
    accuracy; each run a line coloured by its accuracy, so the settings of the good runs stand out together."""
    dims = []
    for name in comparison.settings:
        values = [v[name] for v in comparison.values]
        if all(isinstance(x, (int, float)) for x in values):
            dims.append(dict(label=name, values=[float(x) for x in values]))
        else:  # choices, switches: each value a tick of its own
            levels = sorted({str(x) for x in values})
            dims.append(dict(label=name, values=[levels.index(str(x)) for x in values],
                             tickvals=list(range(len(levels))), ticktext=levels))
    accuracy = [None if f["test accuracy"] is None else f["test accuracy"] * 100 for f in comparison.figures]
    scores = [a if a is not None else 0.0 for a in accuracy]
    dims.append(dict(label="test accuracy (%)", values=scores, range=[min(scores + [0]), max(scores + [100])]))
    fig = go.Figure(go.Parcoords(dimensions=dims, line=dict(color=scores, colorscale="Viridis", showscale=True,
                                                            colorbar=dict(title="%"))))
    fig.update_layout(title="Settings and test accuracy, one line per run", height=380, paper_bgcolor="white",
                      margin=dict(l=70, r=70, t=90, b=20), font=dict(color="#2a3f5f"))
    return fig


def histograms_figure(weight, gradient=None) -> go.Figure:
    """One layer's weight histogram at one epoch, and its last step's gradient beside it (core.runs.histograms)."""
    from plotly.subplots import make_subplots

    shown = [h for h in (weight, gradient) if h is not None]
    fig = make_subplots(rows=1, cols=len(shown), subplot_titles=[f"{h.kind}s" for h in shown])
    for col, h in enumerate(shown, start=1):
        edges = h.edges
        fig.add_bar(x=[(a + b) / 2 for a, b in zip(edges, edges[1:])], y=h.counts, width=edges[1] - edges[0],
                    marker_color=PALETTE[col], name=h.kind, row=1, col=col)
    fig.update_layout(showlegend=False, height=300, margin=dict(l=10, r=10, t=60, b=10), plot_bgcolor="white",
                      paper_bgcolor="white", title=weight.layer, font=dict(color="#2a3f5f"))
    return fig
