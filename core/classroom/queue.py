"""The fair order of waiting runs, and when each may start: pure functions of who waits and who trains, so the rules
read (and are tested) apart from threads and folders.

Fair means round-robin across owners: every owner's first waiting run comes before anyone's second, and within a round
the owner who has waited longest goes first. Runs an owner has started since the server was last idle (the scheduler
counts them, training ones included) count as turns already taken, so a student who asked for three runs at once gets
the second only after everyone else's first."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

MAX_WAITING_PER_OWNER = 3  # runs one student may have queued at once (class mode); personal mode has no cap


@dataclass(frozen=True)
class Waiting:
    run_id: str
    owner: str | None
    queued: float  # Unix seconds
    estimate_s: float | None = None  # how long it will train, if anything like it trained here before


@dataclass(frozen=True)
class Training:
    run_id: str
    owner: str | None
    remaining_s: float | None  # None: no estimate yet


def fair_order(waiting: list[Waiting], training: list[Training],
               served: dict[str | None, int] | None = None) -> list[Waiting]:
    """The waiting runs in the order they should start: by round (an owner's n-th waiting run, counting the turns they
    were `served` since the server was last idle, and at least their runs in training), then by when it was queued."""
    busy = dict(served or {})
    in_training: dict[str | None, int] = {}
    for run in training:
        in_training[run.owner] = in_training.get(run.owner, 0) + 1
    for owner, count in in_training.items():
        busy[owner] = max(busy.get(owner, 0), count)
    keyed = []
    ordered = sorted(waiting, key=lambda w: (str(w.owner), w.queued, w.run_id))
    for owner, runs in groupby(ordered, key=lambda w: w.owner):
        for turn, run in enumerate(runs, start=busy.get(owner, 0)):
            keyed.append((turn, run.queued, run.run_id, run))
    return [run for *_, run in sorted(keyed, key=lambda k: k[:3])]


def next_to_start(waiting: list[Waiting], training: list[Training],
                  served: dict[str | None, int] | None = None) -> Waiting | None:
    """The run to start in a free slot: the first in fair order whose owner has nothing training; where every waiting
    owner trains already, the first anyway (an idle slot helps nobody)."""
    order = fair_order(waiting, training, served)
    busy = {run.owner for run in training}
    return next((w for w in order if w.owner not in busy), order[0] if order else None)


@dataclass(frozen=True)
class Place:
    run_id: str
    place: int  # 1 = next to start
    of: int  # how many wait
    start_in_s: float | None  # estimated seconds until it starts; None when nothing here can estimate it


def places(waiting: list[Waiting], training: list[Training], slots: int,
           served: dict[str | None, int] | None = None) -> list[Place]:
    """Every waiting run's place and estimated start: in fair order, each run takes the slot that frees first (a free
    slot now, else a training run's remaining time) and holds it for its own estimate. A slot whose end nothing can
    estimate is left out; when no slot's end is known, neither is the start."""
    order = fair_order(waiting, training, served)
    free_at: list[float | None] = [t.remaining_s for t in training][:slots]
    free_at += [0.0] * max(0, slots - len(free_at))
    out = []
    for place, run in enumerate(order, start=1):
        known = [(t, i) for i, t in enumerate(free_at) if t is not None]
        if not known:
            out.append(Place(run.run_id, place, len(order), None))
            continue
        start, slot = min(known)
        out.append(Place(run.run_id, place, len(order), start))
        free_at[slot] = None if run.estimate_s is None else start + run.estimate_s
    return out
