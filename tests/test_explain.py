"""Inside the model: heat maps on cases with a known answer, feature maps, filters, hardest examples."""
import numpy as np
import torch
from torch import nn

from core.insight.explain import (
    explain,
    feature_maps,
    first_layer_filters,
    hardest_examples,
)
from core.models.spec import build_model
from core.training.presets import PRESETS

CLASSES = [str(i) for i in range(10)]


class TopLeftOnly(nn.Module):
    """Zeroes everything outside the top-left 16x16 quadrant: only that region can change the output."""

    def forward(self, x):
        mask = torch.zeros_like(x)
        mask[..., :16, :16] = 1
        return x * mask


def test_input_gradient_lights_up_only_the_region_that_matters():
    torch.manual_seed(0)
    model = nn.Sequential(TopLeftOnly(), nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    e = explain(model, CLASSES, image, method="input-gradient")
    assert e.method == "input-gradient" and e.heatmap.shape == (32, 32)
    assert e.heatmap[16:, :].max() == 0 and e.heatmap[:, 16:].max() == 0
    assert e.heatmap[:16, :16].max() == 1.0


def test_grad_cam_points_at_the_bright_blob_a_blob_detector_sees():
    conv = nn.Conv2d(3, 1, 1)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        conv.bias.zero_()
    head = nn.Linear(1, 10, bias=False)
    with torch.no_grad():
        head.weight.zero_()
        head.weight[3] = 1.0  # class "3" = how bright the picture is
    model = nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), head)
    image = torch.zeros((3, 32, 32), dtype=torch.uint8)
    image[:, 20:28, 4:12] = 255  # a white square bottom-left on black
    e = explain(model, CLASSES, image, target="3")
    assert e.method == "grad-cam" and e.target == "3"
    hot = np.unravel_index(e.heatmap.argmax(), e.heatmap.shape)
    assert 20 <= hot[0] < 28 and 4 <= hot[1] < 12
    assert e.heatmap[:10, 20:].max() < 0.1


def test_explain_names_the_predicted_and_the_chosen_class():
    model = build_model(PRESETS["tutorial"].spec)
    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    e = explain(model, CLASSES, image, target="7")
    assert e.target == "7" and e.predicted == max(e.probabilities, key=e.probabilities.get)
    assert abs(sum(e.probabilities.values()) - 1) < 1e-5


def test_feature_maps_of_every_conv_layer():
    model = build_model(PRESETS["tutorial"].spec)
    maps = feature_maps(model, torch.zeros((3, 32, 32), dtype=torch.uint8))
    assert [tuple(m.shape) for m in maps.values()] == [(6, 28, 28), (16, 10, 10)]


def test_first_layer_filters_are_rgb_tiles():
    tiles = first_layer_filters(build_model(PRESETS["seed"].spec))
    assert tiles.shape == (16, 3, 5, 5) and tiles.dtype == torch.uint8
    assert (tiles.amax((1, 2, 3)) == 255).all() and (tiles.amin((1, 2, 3)) == 0).all()


def test_hardest_examples_are_the_highest_losses():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    images = torch.randint(0, 256, (50, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (50,))
    idx, losses, guesses = hardest_examples(model, images, labels, k=5)
    from core.data.batches import normalize

    all_losses = nn.functional.cross_entropy(model(normalize(images)), labels, reduction="none")
    assert idx == all_losses.topk(5).indices.tolist()
    assert losses == sorted(losses, reverse=True)


def test_explaining_leaves_a_shared_model_exactly_as_it_was():
    """A cached run's model is shared by every session: Grad-CAM must not leave gradients or change its weights."""
    import threading

    model = build_model(PRESETS["fast"].spec, seed=0).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(k))
              for k in range(4)]
    alone = [explain(model, CLASSES, image).heatmap for image in images]
    together = [None] * 4

    def work(k):
        together[k] = explain(model, CLASSES, images[k], target=CLASSES[k]).heatmap

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    frozen = build_model(PRESETS["fast"].spec, seed=0).eval().requires_grad_(False)  # as the dashboard caches it
    assert np.allclose(explain(frozen, CLASSES, images[0]).heatmap, alone[0], atol=1e-5)
    for k in range(4):
        assert np.allclose(together[k], explain(model, CLASSES, images[k], target=CLASSES[k]).heatmap, atol=1e-5)


def test_map_tiles_stretch_each_map_to_the_full_range():
    from core.insight.explain import map_tiles

    maps = torch.stack([torch.arange(16.0).reshape(4, 4), torch.full((4, 4), 3.0)])
    tiles = map_tiles(maps)
    assert tiles.shape == (2, 3, 4, 4) and tiles.dtype == torch.uint8
    assert int(tiles[0].min()) == 0 and int(tiles[0].max()) == 255 and int(tiles[1].max()) == 0  # flat map: dark
