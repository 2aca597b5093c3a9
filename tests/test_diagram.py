"""The Model page's diagram: one box per layer with its output shape; the faulty layer red, shapes after it unknown."""
from core.models.layers import Conv2d, Flatten, Linear, MaxPool2d
from core.models.spec import ModelSpec, layer_report
from ui.diagram import model_dot


def test_every_layer_is_a_box_with_its_shape_and_the_problem_is_red():
    good = ModelSpec((Conv2d(16, 5, 1, 0), MaxPool2d(2), Flatten(), Linear(10)))
    dot = model_dot(good, *layer_report(good))
    assert dot.count("->") == 4 and "16x28x28" in dot and "color=red" not in dot
    bad = ModelSpec((Flatten(), MaxPool2d(2), Linear(10)))
    infos, problem = layer_report(bad)
    dot = model_dot(bad, infos, problem)
    assert problem.layer == 2 and 'n2 [label="MaxPool2d 2x2\\n?", color=red' in dot
