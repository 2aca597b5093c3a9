"""The captioner's pieces: encoder grid, attention decoder, teacher forcing with padding, greedy and beam search."""
import pytest
import torch
from conftest import CLASSES

from core.caption.model import (
    END,
    PAD,
    SCRATCH_ENCODER,
    Captioner,
    DecoderSpec,
    beam_search,
    encode_sentences,
    encoder_from_classifier,
    greedy,
    loss_of,
)
from core.caption.scenes import vocabulary
from core.models.layers import Conv2d
from core.models.spec import ModelSpec
from core.training.presets import PRESETS

VOCAB = vocabulary(CLASSES)


@pytest.fixture(params=["lstm", "gru"])
def model(request):
    return Captioner(SCRATCH_ENCODER, DecoderSpec(cell=request.param, hidden=32, attention=16, embed=8), VOCAB,
                     seed=0).eval()


@pytest.mark.parametrize("height,width", [(64, 64), (64, 96), (96, 64), (40, 72)])
def test_encoder_gives_a_grid_with_coordinates_for_any_size(height, width):
    m = Captioner(SCRATCH_ENCODER, DecoderSpec(scales=1), VOCAB, seed=0)
    with torch.no_grad():
        grid, [(h, w)] = m.encoder(torch.zeros(2, 3, height, width))
    assert grid.shape == (2, h * w, m.encoder.channels + 4) and (h, w) == (height // 8, width // 8)
    xs, ys = grid[0, :, -4], grid[0, :, -3]  # shares of the picture, for "left" and "at the top"
    assert xs.min() == -1 and xs.max() == 1 and ys.min() == -1 and ys.max() == 1
    assert xs[0] < xs[w - 1] and ys[0] < ys[-1]  # row-major: x grows along a row, y down the rows
    # pixels from the centre in units of a 32-pixel picture: an object's extent reads the same on every canvas
    px, py = grid[0, :w, -2], grid[0, ::w, -1]
    assert torch.allclose(px[1:] - px[:-1], torch.tensor(width / w / 32)) and float(px[0] + px[-1]) == 0
    assert torch.allclose(py[1:] - py[:-1], torch.tensor(height / h / 32)) and float(py[0] + py[-1]) == 0
    assert torch.equal(grid[0, :, -2:], grid[1, :, -2:])


@pytest.mark.parametrize("height,width", [(64, 64), (96, 128), (40, 72)])
def test_a_second_scale_adds_the_half_size_grid_in_the_same_frame(height, width):
    m = Captioner(SCRATCH_ENCODER, DecoderSpec(scales=2), VOCAB, seed=0)
    with torch.no_grad():
        grid, shapes = m.encoder(torch.zeros(1, 3, height, width))
    (h0, w0), (h1, w1) = shapes
    assert h1 <= (h0 + 1) // 2 and w1 <= (w0 + 1) // 2 and grid.shape[1] == h0 * w0 + h1 * w1
    assert grid.shape[-1] == m.encoder.channels + 5  # shares, pixel places, and the scale
    full, half = grid[0, :h0 * w0], grid[0, h0 * w0:]
    assert (full[:, -1] == 0).all() and (half[:, -1] == 1).all()
    for cells in (full, half):  # both grids span the whole picture, centred on it
        assert cells[:, -5].min() == -1 and cells[:, -5].max() == 1
        assert float(cells[:, -3].min() + cells[:, -3].max()) == pytest.approx(0, abs=1e-6)


def test_attention_over_every_scale_is_drawn_as_one_map_of_the_same_mass():
    from core.caption.model import attention_on_picture

    shapes = [(4, 6), (2, 3)]
    alpha = torch.softmax(torch.randn(5, 4 * 6 + 2 * 3), -1)
    drawn = attention_on_picture(alpha, shapes)
    assert drawn.shape == (5, 4, 6) and torch.allclose(drawn.sum((1, 2)), torch.ones(5))
    only_coarse = torch.zeros(4 * 6 + 2 * 3)
    only_coarse[4 * 6] = 1.0  # all on the half grid's top-left cell: the full grid's top-left 2x2 cells
    assert torch.allclose(attention_on_picture(only_coarse, shapes)[:2, :2], torch.full((2, 2), 0.25))


@pytest.mark.parametrize("side,scales,level", [(32, 2, 0), (16, 2, 0), (44, 2, 0), (46, 2, 1), (96, 2, 1),
                                               (128, 3, 2), (96, 1, 0)])
def test_an_object_is_read_at_the_scale_nearest_a_cifar_picture(side, scales, level):
    from core.caption.model import best_scale

    assert best_scale(side, scales) == level


def test_without_pixel_places_the_grid_is_the_earlier_one():
    """Captioners saved before cells carried pixel places read grids without them."""
    m = Captioner(SCRATCH_ENCODER, DecoderSpec(pixel_places=False, scales=1), VOCAB, seed=0)
    grid, _ = m.encoder(torch.zeros(1, 3, 64, 96))
    assert grid.shape[-1] == m.encoder.channels + 2 and grid[0, :, -2].max() == 1


def test_teacher_forcing_shapes_attention_sums_and_padding_is_ignored(model):
    tokens = encode_sentences(["a cat on the left", "two dogs one on the left and one on the right"], VOCAB)
    assert tokens[0, -1] == PAD and tokens[1, -1] == END  # the shorter caption is padded
    with torch.no_grad():
        logits, alphas = model(torch.randn(2, 3, 64, 64), tokens)
    assert logits.shape == (2, tokens.shape[1] - 1, len(VOCAB)) and alphas.shape[:2] == (2, tokens.shape[1] - 1)
    assert torch.allclose(alphas.sum(-1), torch.ones(2, tokens.shape[1] - 1))
    # the loss does not change whatever the model predicts where the target is padding
    changed = logits.clone()
    changed[0, -1] += 100 * torch.randn(len(VOCAB))
    assert float(loss_of(changed, tokens)) == pytest.approx(float(loss_of(logits, tokens)))
    changed[1, -1] += 100 * torch.randn(len(VOCAB))
    assert float(loss_of(changed, tokens)) != pytest.approx(float(loss_of(logits, tokens)))


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
def test_label_smoothing_spreads_a_share_of_each_target_word_over_the_vocabulary(smoothing):
    tokens = encode_sentences(["a cat on the left", "two dogs one on the left and one on the right"], VOCAB)
    logits = torch.randn(2, tokens.shape[1] - 1, len(VOCAB), generator=torch.Generator().manual_seed(0))
    log_p, targets = logits.log_softmax(-1), tokens[:, 1:]
    real = targets != PAD  # padding stays out of the loss, smoothed or not
    right = -log_p.gather(-1, targets[..., None])[..., 0][real].mean()
    spread = -log_p.mean(-1)[real].mean()
    assert float(loss_of(logits, tokens, smoothing)) == pytest.approx(float((1 - smoothing) * right
                                                                            + smoothing * spread), rel=1e-5)


def test_beam_of_width_one_is_greedy_and_wider_beams_rank_by_score(model):
    torch.manual_seed(1)
    for _ in range(5):
        x = torch.randn(1, 3, 64, 96)
        [one] = beam_search(model, x, 1)
        assert one.words == greedy(model, x)[0]
        beams = beam_search(model, x, 4)
        assert 1 <= len(beams) <= 4 and [b.score for b in beams] == sorted((b.score for b in beams), reverse=True)
        for b in beams:
            assert b.attention.shape[0] == max(1, len(b.words)) and b.attention.shape[1:] == (8, 12)
            assert set(b.words) <= set(VOCAB)


def test_a_seed_fixes_every_initial_weight():
    a = Captioner(SCRATCH_ENCODER, DecoderSpec(), VOCAB, seed=5).state_dict()
    b = Captioner(SCRATCH_ENCODER, DecoderSpec(), VOCAB, seed=5).state_dict()
    c = Captioner(SCRATCH_ENCODER, DecoderSpec(), VOCAB, seed=6).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a) and not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_classifier_gives_an_encoder_that_keeps_a_grid(preset):
    spec = encoder_from_classifier(PRESETS[preset].spec)
    m = Captioner(spec, DecoderSpec(hidden=16, attention=16, embed=8), VOCAB)
    grid, [(h, w), *coarser] = m.encoder(torch.zeros(1, 3, 64, 96))
    assert h >= 2 and w >= 3 and grid.shape[1] == h * w + sum(a * b for a, b in coarser) and len(coarser) == 1


def test_a_classifier_without_convolutions_has_no_encoder():
    from core.models.layers import Flatten, Linear

    with pytest.raises(ValueError, match="no convolutional layers"):
        encoder_from_classifier(ModelSpec((Flatten(), Linear(10)), name="mlp"))
    assert len(encoder_from_classifier(ModelSpec((Conv2d(8, 3, 1, 1), Flatten(), Linear(10)))).layers) == 1


@pytest.mark.parametrize("pixel_places,scales", [(True, 2), (True, 1), (False, 1)])
@pytest.mark.parametrize("encoder", ["scratch", "fast"])
def test_the_exported_file_is_the_same_captioner(model, encoder, pixel_places, scales):
    """The plain PyTorch file loads the engine's weights and writes the same sentences (captioners saved before
    pixel places, or before the second scale, too)."""
    from dataclasses import replace

    from core.caption.export import captioner_script

    encoder = SCRATCH_ENCODER if encoder == "scratch" else encoder_from_classifier(PRESETS[encoder].spec)
    spec = replace(model.decoder_spec, pixel_places=pixel_places, scales=scales)
    engine = Captioner(encoder, spec, VOCAB, seed=3).eval()
    namespace = {"__name__": "captioner_file"}
    exec(compile(captioner_script(encoder, spec, VOCAB), "captioner.py", "exec"), namespace)
    plain = namespace["Captioner"]().eval()
    plain.load_state_dict(engine.state_dict())
    x = torch.randn(3, 3, 64, 96)
    assert namespace["greedy"](plain, x) == greedy(engine, x)
