"""The Model page's diagram: the layer stack as Graphviz DOT, each box with its output shape, the faulty one in red."""
from __future__ import annotations

from core.models.layers import SpecError
from core.models.spec import LayerInfo, ModelSpec


def model_dot(spec: ModelSpec, infos: list[LayerInfo], problem: SpecError | None) -> str:
    """Layers left to right from the 3x32x32 input; shapes after the first problem are unknown ('?')."""
    dot = ["digraph { rankdir=LR; node [shape=box, style=rounded, fontsize=10];", 'in [label="input\\n3x32x32"];']
    prev = "in"
    for i, layer in enumerate(spec.layers, start=1):
        shape = "x".join(map(str, infos[i - 1].output_shape)) if i <= len(infos) else "?"
        color = ", color=red, fontcolor=red" if problem is not None and problem.layer == i else ""
        dot.append(f'n{i} [label="{layer.label()}\\n{shape}"{color}]; {prev} -> n{i};')
        prev = f"n{i}"
    return "\n".join(dot) + "}"
