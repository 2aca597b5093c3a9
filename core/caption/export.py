"""The captioner as one plain PyTorch file, written from the engine's own source so it cannot drift."""
from __future__ import annotations

import inspect

from core.caption import model as c
from core.caption.fitting import DEFAULT_FIT, FITS, PictureFit
from core.caption.scenes import with_articles
from core.models.spec import ModelSpec, summarize
from core.runs.export import helpers_source, module_code
from core.training.evaluate import article


def captioner_script(encoder: ModelSpec, decoder, vocab: list[str], fit: PictureFit = FITS[DEFAULT_FIT]) -> str:
    """The captioner as one plain PyTorch file: the encoder's layers written out, and the decoder, greedy decoding
    and the word lookup copied from the engine's own source, so the file cannot drift from what was trained.
    Weights saved by CIFAR-10 Studio load with `load_state_dict(safetensors.torch.load_file(...))`."""
    summary = summarize(encoder)
    shape, lines = encoder.input_shape, []
    for layer, info in zip(encoder.layers, summary.layers):
        lines.append(f"            {module_code(layer, shape)},  # -> {'x'.join(map(str, info.output_shape))} "
                     "for a 32x32 picture")
        shape = info.output_shape
    helpers, body = helpers_source(encoder), "\n".join(lines)
    # Long on purpose: the rest is the generated file as one template, read top to bottom like the file itself.
    return f'''"""A captioner trained in CIFAR-10 Studio, in plain PyTorch ("Show, Attend and Tell").

Encoder: {encoder}
Decoder: {decoder.cell.upper()} with soft attention, embedding {decoder.embed}, state {decoder.hidden}, attention {decoder.attention}.
Input: a picture scaled, keeping its shape, until its short side is {fit.short} or its long side {fit.long} pixels{
" (its short side then padded to " + str(fit.short) + " with grey 128)" if fit.pad else ""},
normalized to [-1, 1] like the classifier's.
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
{helpers}
VOCAB = {vocab!r}
PAD, START, END, UNK = {c.PAD}, {c.START}, {c.END}, {c.UNK}
GRID = {c.GRID}
MAX_WORDS = {c.MAX_WORDS}
SIDE = {c.SIDE}  # a CIFAR-10 picture's side: pixel places count in these


{inspect.getsource(article)}

{inspect.getsource(with_articles)}

@dataclass(frozen=True)
class DecoderSpec:
    cell: str = {decoder.cell!r}
    embed: int = {decoder.embed}
    hidden: int = {decoder.hidden}
    attention: int = {decoder.attention}
    pixel_places: bool = {decoder.pixel_places}
    scales: int = {decoder.scales}


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.Sequential(
{body}
        )
        self.pixel_places, self.scales = DecoderSpec().pixel_places, DecoderSpec().scales

{inspect.getsource(c.Encoder.places.fget)}
{inspect.getsource(c.Encoder.forward)}
{inspect.getsource(c.Encoder.grid)}

{inspect.getsource(c.pyramid)}

{inspect.getsource(c.AttentionDecoder)}

class Captioner(nn.Module):
    def __init__(self):
        super().__init__()
        self.vocab = VOCAB
        self.encoder = Encoder()
        channels = self.encoder.convs(torch.zeros(1, 3, 32, 32)).shape[1]
        self.decoder = AttentionDecoder(len(VOCAB), channels + self.encoder.places, DecoderSpec())

{inspect.getsource(c.Captioner.words)}

{inspect.getsource(c.greedy)}

if __name__ == "__main__":
    model = Captioner().eval()
    print(model)
    print(greedy(model, torch.zeros(1, 3, {fit.short}, {fit.long})))  # untrained: babble
'''
