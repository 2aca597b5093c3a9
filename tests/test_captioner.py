"""The captioner's pieces: encoder grid, attention decoder, teacher forcing with padding, greedy and beam search."""
import pytest
import torch
from conftest import CLASSES
from PIL import Image

from core.caption.model import (
    END,
    FIT_LONG,
    FIT_SHORT,
    PAD,
    SCRATCH_ENCODER,
    Captioner,
    DecoderSpec,
    beam_search,
    encode_sentences,
    encoder_from_classifier,
    fit_picture,
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
    m = Captioner(SCRATCH_ENCODER, DecoderSpec(), VOCAB, seed=0)
    with torch.no_grad():
        grid, (h, w) = m.encoder(torch.zeros(2, 3, height, width))
    assert grid.shape == (2, h * w, m.encoder.channels + 4) and (h, w) == (height // 8, width // 8)
    xs, ys = grid[0, :, -4], grid[0, :, -3]  # shares of the picture, for "left" and "at the top"
    assert xs.min() == -1 and xs.max() == 1 and ys.min() == -1 and ys.max() == 1
    assert xs[0] < xs[w - 1] and ys[0] < ys[-1]  # row-major: x grows along a row, y down the rows
    # pixels from the centre in units of a 32-pixel picture: an object's extent reads the same on every canvas
    px, py = grid[0, :w, -2], grid[0, ::w, -1]
    assert torch.allclose(px[1:] - px[:-1], torch.tensor(width / w / 32)) and float(px[0] + px[-1]) == 0
    assert torch.allclose(py[1:] - py[:-1], torch.tensor(height / h / 32)) and float(py[0] + py[-1]) == 0
    assert torch.equal(grid[0, :, -2:], grid[1, :, -2:])


def test_without_pixel_places_the_grid_is_the_earlier_one():
    """Captioners saved before cells carried pixel places read grids without them."""
    m = Captioner(SCRATCH_ENCODER, DecoderSpec(pixel_places=False), VOCAB, seed=0)
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


@pytest.mark.parametrize("size", [(64, 64), (96, 64), (64, 96), (4000, 3000), (300, 40), (20, 900), (1, 1)])
def test_any_picture_is_fitted_by_one_rule_that_leaves_scene_canvases_alone(size):
    picture = Image.new("RGB", size, (200, 10, 10))
    pixels = fit_picture(picture)
    h, w = pixels.shape[1:]
    assert min(h, w) >= FIT_SHORT and max(h, w) <= FIT_LONG and pixels.dtype == torch.uint8
    if size in ((64, 64), (96, 64), (64, 96)):
        assert (w, h) == size and (pixels[0] == 200).all()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_classifier_gives_an_encoder_that_keeps_a_grid(preset):
    spec = encoder_from_classifier(PRESETS[preset].spec)
    m = Captioner(spec, DecoderSpec(hidden=16, attention=16, embed=8), VOCAB)
    grid, (h, w) = m.encoder(torch.zeros(1, 3, 64, 96))
    assert h >= 2 and w >= 3 and grid.shape[1] == h * w


def test_a_classifier_without_convolutions_has_no_encoder():
    from core.models.layers import Flatten, Linear

    with pytest.raises(ValueError, match="no convolutional layers"):
        encoder_from_classifier(ModelSpec((Flatten(), Linear(10)), name="mlp"))
    assert len(encoder_from_classifier(ModelSpec((Conv2d(8, 3, 1, 1), Flatten(), Linear(10)))).layers) == 1


@pytest.mark.parametrize("pixel_places", [True, False])
@pytest.mark.parametrize("encoder", ["scratch", "fast"])
def test_the_exported_file_is_the_same_captioner(model, encoder, pixel_places):
    """The plain PyTorch file loads the engine's weights and writes the same sentences (captioners saved before
    pixel places too)."""
    from dataclasses import replace

    from core.caption.export import captioner_script

    encoder = SCRATCH_ENCODER if encoder == "scratch" else encoder_from_classifier(PRESETS[encoder].spec)
    spec = replace(model.decoder_spec, pixel_places=pixel_places)
    engine = Captioner(encoder, spec, VOCAB, seed=3).eval()
    namespace = {"__name__": "captioner_file"}
    exec(compile(captioner_script(encoder, spec, VOCAB), "captioner.py", "exec"), namespace)
    plain = namespace["Captioner"]().eval()
    plain.load_state_dict(engine.state_dict())
    x = torch.randn(3, 3, 64, 96)
    assert namespace["greedy"](plain, x) == greedy(engine, x)
