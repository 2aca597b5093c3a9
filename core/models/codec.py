"""A model spec as versioned JSON (run folders, saved models) and as a compact URL-safe token (share links); every
problem in a file or link becomes a SpecError in plain words."""
from __future__ import annotations

import base64
import json
import zlib
from dataclasses import MISSING, fields

from core.models.layers import LAYER_KINDS, Layer, SpecError
from core.models.limits import MAX_LAYERS, SPEC_VERSION
from core.models.spec import ModelSpec


def spec_to_json(spec: ModelSpec) -> dict:
    return {"version": SPEC_VERSION, "name": spec.name, "layers": [layer.to_json() for layer in spec.layers]}


def spec_from_json(data) -> ModelSpec:
    """Parse a versioned spec (a dict or a JSON string); every problem becomes a SpecError in plain words."""
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SpecError(f"the model file is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("layers"), list):
        raise SpecError('a model spec is a JSON object with a "layers" list')
    version = data.get("version", SPEC_VERSION)
    if version != SPEC_VERSION:
        raise SpecError(f"model spec version {version!r} is not supported (this version reads {SPEC_VERSION})")
    if len(data["layers"]) > MAX_LAYERS:
        raise SpecError(f"the model has {len(data['layers'])} layers; the limit is {MAX_LAYERS}")
    name = data.get("name", "custom")
    layers = [_layer_from_json(i, item) for i, item in enumerate(data["layers"], start=1)]
    return ModelSpec(tuple(layers), name=str(name)[:80])


def _layer_from_json(index: int, item) -> Layer:
    if not isinstance(item, dict) or "type" not in item:
        raise SpecError(f'layer {index}: each layer is an object with a "type", got {item!r:.60}')
    kind = item["type"]
    cls = LAYER_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise SpecError(f"layer {index}: unknown layer type {kind!r:.40}; known types: {', '.join(LAYER_KINDS)}")
    known = {f.name for f in fields(cls)}
    args = {k: v for k, v in item.items() if k != "type"}
    unknown = set(args) - known
    if unknown:
        raise SpecError(f"layer {index}, {kind}: unknown setting {sorted(unknown)[0]!r}; it takes {sorted(known) or 'none'}")
    try:
        return cls(**args)
    except TypeError:
        missing = [f.name for f in fields(cls) if f.name not in args and f.default is MISSING]
        raise SpecError(f"layer {index}, {kind}: missing setting {(missing or ['?'])[0]!r}") from None


def spec_to_token(spec: ModelSpec) -> str:
    """A compact, URL-safe form of the spec, for share links."""
    raw = json.dumps(spec_to_json(spec), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def spec_from_token(token: str) -> ModelSpec:
    try:
        packed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, 200_000)  # a share link never needs more; refuses zip bombs
        if inflater.unconsumed_tail:
            raise ValueError("too large")
    except (ValueError, zlib.error, TypeError):
        raise SpecError("the model in this link is damaged; ask for the link again") from None
    return spec_from_json(raw)
