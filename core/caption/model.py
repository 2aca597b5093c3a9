"""The learned captioner ("Show, Attend and Tell"): a CNN encoder turns a picture into a grid of feature vectors; a
recurrent decoder (LSTM or GRU) writes the sentence one word at a time, each time attending softly over the grid, so
every word comes with a map of where it looked."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from core.bounds import choice, ranged
from core.caption.fitting import DEFAULT_FIT, FITS, PictureFit
from core.caption.scenes import MAX_WORDS, SIDE, with_articles
from core.data.batches import normalize
from core.models.layers import (
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Linear,
    MaxPool2d,
    ReLU,
)
from core.models.spec import ModelSpec, build_model

CELLS = ("lstm", "gru")
PAD, START, END, UNK = 0, 1, 2, 3  # the vocabulary's first four entries (scenes.vocabulary)
MAX_BEAM = 10  # the widest beam offered: wider only repeats near-identical sentences of this small grammar
GRID = 8  # the encoder's grid is average-pooled to about this many cells on its shorter side

# From scratch: three conv-BN-ReLU-pool stages, 64x64 -> an 8x8 grid of 96-long feature vectors.
SCRATCH_ENCODER = ModelSpec((Conv2d(32, 3, 1, 1, bias=False), BatchNorm2d(), ReLU(), MaxPool2d(2),
                             Conv2d(64, 3, 1, 1, bias=False), BatchNorm2d(), ReLU(), MaxPool2d(2),
                             Conv2d(96, 3, 1, 1, bias=False), BatchNorm2d(), ReLU(), MaxPool2d(2)),
                            name="scratch-encoder")


@dataclass(frozen=True)
class DecoderSpec:
    cell: str = choice("lstm", CELLS)
    embed: int = ranged(64, low=8, high=512)  # word embedding size
    hidden: int = ranged(256, low=16, high=1024)  # recurrent state size
    attention: int = ranged(128, low=16, high=512)  # size of the space where the state meets the grid
    # Each grid cell also carries its place in pixels from the centre (in units of a 32-pixel picture), besides its
    # place as a share of the picture. With shares alone a 32-pixel object spans half a square canvas but a third of a
    # wide one, and captioners said "three" for two objects side by side on a square canvas. Runs saved before this
    # field existed lack it (caption_runs reads them with False).
    pixel_places: bool = True
    # The encoder also reads the picture at half size, and attention chooses among both grids' cells: an object twice
    # a CIFAR picture's size reads, at half size, as the picture the classifier learned from (issue 33: varied sizes).
    # Runs saved before this field existed read one scale (caption_runs fills in 1).
    scales: int = ranged(2, low=1, high=3)


# ----------------------------------------------------------------------------------------------------------------
# the encoder


def encoder_from_classifier(spec: ModelSpec) -> ModelSpec:
    """The convolutional part of a classifier: its layers up to the first Flatten, global pool or Linear, without
    trailing pooling (a classifier pools its last maps to one cell; a captioner needs the grid)."""
    layers = []
    for layer in spec.layers:
        if isinstance(layer, (Flatten, GlobalAvgPool, Linear)):
            break
        layers.append(layer)
    while layers and isinstance(layers[-1], (MaxPool2d, AvgPool2d)):
        layers.pop()
    if not any(isinstance(layer, Conv2d) or type(layer).__name__ in ("PatchWhiten", "ResidualBlock")
               for layer in layers):
        raise ValueError(f"the classifier {spec.name!r} has no convolutional layers before its head to encode with")
    return ModelSpec(tuple(layers), name=f"{spec.name}-encoder")


class Encoder(nn.Module):
    """A conv stack, its output pooled to about GRID cells across, flattened to (B, cells, channels + places): each
    cell also carries its own x and y in [-1, 1], which is how the decoder can say "left" or "at the top", and with
    `pixel_places` its x and y in pixels from the picture's centre / 32, which is how it can tell one object from two
    on any canvas. With `scales` > 1 the picture is read again at half size (and quarter), each grid's cells placed
    in the full picture's frame and marked with their scale, all in one list for attention to choose from."""

    def __init__(self, spec: ModelSpec, seed: int | None = None, pixel_places: bool = True, scales: int = 1):
        super().__init__()
        self.convs = build_model(spec, seed=seed, classifier=False)
        self.channels = int(self.convs(torch.zeros(1, 3, 32, 32)).shape[1])
        self.pixel_places, self.scales = pixel_places, scales

    @property
    def places(self) -> int:
        """Numbers each cell carries about where it is: x and y as shares, with pixel places x and y in pixels, and
        with several scales which scale it was read at."""
        return 2 + 2 * self.pixel_places + (self.scales > 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """The cells of every scale, and each scale's grid shape (h, w), the full picture's first."""
        grids, shapes = [], []
        for level, pixels in enumerate(pyramid(x, self.scales)):
            grid, shape = self.grid(self.convs(pixels), x.shape[-2:], level)
            grids.append(grid)
            shapes.append(shape)
        return torch.cat(grids, 1), shapes

    def grid(self, maps: torch.Tensor, size, level: int) -> tuple[torch.Tensor, tuple[int, int]]:
        """One scale's maps as (B, cells, channels + places), placed in the frame of the full picture of `size`."""
        factor = max(1, min(maps.shape[-2:]) // GRID)
        if factor > 1:
            maps = F.avg_pool2d(maps, factor)
        b, c, h, w = maps.shape
        ys = torch.linspace(-1, 1, h, device=maps.device) if h > 1 else torch.zeros(1, device=maps.device)
        xs = torch.linspace(-1, 1, w, device=maps.device) if w > 1 else torch.zeros(1, device=maps.device)
        coords = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), 0)  # (2, h, w)
        if self.pixel_places:
            height, width = size
            px = ((torch.arange(w, device=maps.device) + 0.5) * width / w - width / 2) / SIDE
            py = ((torch.arange(h, device=maps.device) + 0.5) * height / h - height / 2) / SIDE
            coords = torch.cat([coords, torch.stack(torch.meshgrid(px, py, indexing="xy"), 0)])
        if self.scales > 1:
            coords = torch.cat([coords, torch.full((1, h, w), float(level), device=maps.device)])
        grid = torch.cat([maps, coords.to(maps.dtype).expand(b, -1, h, w)], 1)
        return grid.flatten(2).transpose(1, 2), (h, w)


def pyramid(x: torch.Tensor, scales: int) -> list[torch.Tensor]:
    """The picture at full size, then at half size, and so on: `scales` pictures."""
    return [x if level == 0 else F.avg_pool2d(x, 2 ** level, ceil_mode=True) for level in range(scales)]


def best_scale(side: float, scales: int) -> int:
    """The scale at which an object `side` pixels wide is nearest a CIFAR picture's 32 pixels (by ratio)."""
    return min(range(scales), key=lambda level: abs(math.log2(max(side, 1) / 2 ** level / SIDE)))


def attention_on_picture(alpha: torch.Tensor, shapes: list[tuple[int, int]]) -> torch.Tensor:
    """Attention over every scale's cells (..., cells) as one map over the full picture's grid (..., h, w): each
    coarser scale's weights spread evenly over the cells of the first grid they cover."""
    (h, w), lead, start = shapes[0], alpha.shape[:-1], 0
    total = torch.zeros(*lead, h, w, dtype=alpha.dtype, device=alpha.device)
    for sh, sw in shapes:
        part = alpha[..., start:start + sh * sw].reshape(-1, 1, sh, sw)
        start += sh * sw
        spread = F.interpolate(part, size=(h, w), mode="nearest") * (sh * sw) / (h * w)
        total += spread.reshape(*lead, h, w)
    return total


# ----------------------------------------------------------------------------------------------------------------
# the decoder


class AttentionDecoder(nn.Module):
    def __init__(self, vocab_size: int, feature_dim: int, spec: DecoderSpec):
        super().__init__()
        self.spec = spec
        self.memory = nn.Sequential(nn.Linear(feature_dim, spec.attention), nn.ReLU())  # features, coordinates mixed
        self.keys = nn.Linear(spec.attention, spec.attention)
        self.query = nn.Linear(spec.hidden, spec.attention)
        self.score = nn.Linear(spec.attention, 1)
        self.embed = nn.Embedding(vocab_size, spec.embed, padding_idx=PAD)
        cell = nn.LSTMCell if spec.cell == "lstm" else nn.GRUCell
        self.cell = cell(spec.embed + spec.attention, spec.hidden)
        self.init_h = nn.Linear(spec.attention, spec.hidden)
        self.init_c = nn.Linear(spec.attention, spec.hidden) if spec.cell == "lstm" else None
        self.out = nn.Linear(spec.hidden + spec.attention, vocab_size)

    def start(self, grid: torch.Tensor):
        """Memory and keys for the grid, and the first state: the recurrent state from the grid's mean, and that mean
        as the first "what attention read"."""
        memory = self.memory(grid)
        mean = memory.mean(1)
        h = torch.tanh(self.init_h(mean))
        rnn = (h, torch.tanh(self.init_c(mean))) if self.init_c is not None else h
        return memory, self.keys(memory), (rnn, mean)

    def step(self, word: torch.Tensor, memory, keys, state):
        """One word in: a recurrent step on the word and what attention read last time (input feeding), then
        attention over the grid with the new state (weights sum to 1), then scores for the next word. Attending after
        the step lets the word just read steer where to look; it learned about a third faster than attending before
        it (exact meaning 30% against 22% after the same 800 steps, frozen `fast` encoder)."""
        rnn, context = state
        rnn = self.cell(torch.cat([self.embed(word), context], 1), rnn)
        h = rnn[0] if isinstance(rnn, tuple) else rnn
        alpha = torch.softmax(self.score(torch.tanh(keys + self.query(h)[:, None])).squeeze(-1), -1)  # (B, cells)
        context = (alpha[:, :, None] * memory).sum(1)
        return self.out(torch.cat([h, context], 1)), alpha, (rnn, context)

    def forward(self, grid: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing: the true previous word goes in at every step. tokens (B, T) start with <start>;
        returns logits (B, T-1, vocab) predicting tokens[:, 1:] and attention (B, T-1, cells)."""
        memory, keys, state = self.start(grid)
        logits, alphas = [], []
        for t in range(tokens.shape[1] - 1):
            out, alpha, state = self.step(tokens[:, t], memory, keys, state)
            logits.append(out)
            alphas.append(alpha)
        return torch.stack(logits, 1), torch.stack(alphas, 1)


class Captioner(nn.Module):
    """`fit` is how every picture it reads is scaled (core.caption.fitting), in training and in use alike."""

    def __init__(self, encoder_spec: ModelSpec, decoder_spec: DecoderSpec, vocab: list[str], seed: int | None = None,
                 fit: PictureFit = FITS[DEFAULT_FIT]):
        super().__init__()
        self.encoder_spec, self.decoder_spec, self.vocab, self.fit = encoder_spec, decoder_spec, list(vocab), fit
        self.encoder = Encoder(encoder_spec, seed=seed, pixel_places=decoder_spec.pixel_places,
                               scales=decoder_spec.scales)
        self.decoder = AttentionDecoder(len(vocab), self.encoder.channels + self.encoder.places, decoder_spec)
        if seed is not None:
            _initialize(self.decoder, torch.Generator().manual_seed(seed + 7))

    def forward(self, pixels: torch.Tensor, tokens: torch.Tensor):
        grid, _ = self.encoder(pixels)
        return self.decoder(grid, tokens)

    def words(self, ids) -> list[str]:
        out = []
        for i in ids:
            if i == END:
                break
            out.append(self.vocab[i])
        return with_articles(out)


@torch.no_grad()
def _initialize(decoder: nn.Module, generator: torch.Generator) -> None:
    """torch's own default draws (uniform within 1/sqrt(fan-in); embeddings standard normal), but from the run's
    generator: the process-wide one is shared by every run in a server, so only this makes a seed repeatable."""
    for module in decoder.modules():
        if isinstance(module, nn.Embedding):
            module.weight.normal_(generator=generator)
            module.weight[PAD].zero_()
        elif isinstance(module, (nn.Linear, nn.LSTMCell, nn.GRUCell)):
            fan_in = module.weight.shape[1] if isinstance(module, nn.Linear) else module.hidden_size
            for param in module.parameters():
                param.uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), generator=generator)


def loss_of(logits: torch.Tensor, tokens: torch.Tensor, smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy over the real words (padding ignored), predicting each token from the ones before it; with
    `smoothing`, each target keeps 1 - smoothing of its weight and the rest is spread over the whole vocabulary."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1), ignore_index=PAD,
                           label_smoothing=smoothing)


def encode_sentences(sentences: list[str], vocab: list[str]) -> torch.Tensor:
    """<start> words <end>, padded to the batch's longest: (B, T) token ids."""
    index = {w: i for i, w in enumerate(vocab)}
    rows = [[START, *(index.get(w, UNK) for w in s.split()), END] for s in sentences]
    longest = max(map(len, rows))
    return torch.tensor([r + [PAD] * (longest - len(r)) for r in rows])


# ----------------------------------------------------------------------------------------------------------------
# decoding


@dataclass(frozen=True)
class Beam:
    words: list[str]
    score: float  # sum of the log-probabilities of its words (and of <end>)
    attention: torch.Tensor  # (words, h, w): where each word looked

    @property
    def sentence(self) -> str:
        return " ".join(self.words)


@torch.no_grad()
def greedy(model: Captioner, pixels: torch.Tensor) -> list[list[str]]:
    """The most likely next word every time, for a batch of normalized pictures of one size."""
    grid, _ = model.encoder(pixels)
    memory, keys, state = model.decoder.start(grid)
    word = torch.full((len(pixels),), START, dtype=torch.long, device=pixels.device)
    chosen = []
    for _ in range(MAX_WORDS + 1):
        logits, _, state = model.decoder.step(word, memory, keys, state)
        word = logits.argmax(1)
        chosen.append(word)
        if (torch.stack(chosen, 1) == END).any(1).all():
            break
    ids = torch.stack(chosen, 1).tolist()
    return [model.words(row) for row in ids]


@torch.no_grad()
def beam_search(model: Captioner, pixels: torch.Tensor, width: int = 3) -> list[Beam]:
    """The `width` most likely sentences for one normalized picture (1, 3, H, W), best first, each with the attention
    map of every word. At width 1 this is greedy decoding."""
    grid, shapes = model.encoder(pixels)
    memory, keys, state = model.decoder.start(grid)
    live = [(0.0, [START], [], state)]  # (log-probability, ids, attention per word, recurrent state)
    finished = []
    for _ in range(MAX_WORDS + 1):
        n = len(live)
        words = torch.tensor([ids[-1] for _, ids, _, _ in live], device=pixels.device)
        logits, alpha, states = model.decoder.step(words, memory.expand(n, -1, -1), keys.expand(n, -1, -1),
                                                   _stack_states([s for *_, s in live]))
        top = torch.log_softmax(logits.float(), 1).topk(min(width, logits.shape[1]), dim=1)
        candidates = sorted(((live[i][0] + v, i, word) for i in range(n)
                             for v, word in zip(top.values[i].tolist(), top.indices[i].tolist())), key=lambda c: -c[0])
        previous, live = live, []
        for score, i, word in candidates[:width]:
            _, ids, maps, _ = previous[i]
            entry = (score, ids + [word], maps + [alpha[i]], _state_at(states, i))
            (finished if word == END else live).append(entry)
        # log-probabilities only fall as words are added: once `width` sentences have ended, none still open can
        # overtake them
        if len(finished) >= width or not live:
            break
    ranked = sorted(finished, key=lambda e: -e[0])[:width] or sorted(live, key=lambda e: -e[0])[:width]
    return [Beam(model.words(ids[1:]), score,
                 attention_on_picture(torch.stack(maps[:len(model.words(ids[1:]))] or [alpha[0]]), shapes).cpu())
            for score, ids, maps, _ in ranked]


def _stack_states(states):
    """Beams' states (nested tuples of (1, ...) tensors) as one batched state."""
    if isinstance(states[0], tuple):
        return tuple(_stack_states(parts) for parts in zip(*states))
    return torch.cat(states)


def _state_at(states, i: int):
    if isinstance(states, tuple):
        return tuple(_state_at(part, i) for part in states)
    return states[i:i + 1]


def prepare(model: Captioner, picture: Image.Image) -> torch.Tensor:
    """A picture as `model`'s input: fitted by its rule, normalized like the classifier's, with a batch dimension."""
    return normalize(model.fit.picture(picture)[None])
