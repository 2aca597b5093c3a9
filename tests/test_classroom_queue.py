"""The fair queue's rules: round-robin across students, one run each while others wait, and honest start estimates."""
import random

from hypothesis import given
from hypothesis import strategies as st

from core.classroom.queue import Training, Waiting, fair_order, next_to_start, places


def waiting(*owners_in_order):
    return [Waiting(f"r{i}", owner, float(i)) for i, owner in enumerate(owners_in_order)]


def test_every_students_first_run_comes_before_anyones_second():
    queue = waiting("ann", "ann", "ann", "bob", "cy", "bob")
    assert [w.owner for w in fair_order(queue, [])] == ["ann", "bob", "cy", "ann", "bob", "ann"]


def test_a_student_already_training_has_had_this_rounds_turn():
    queue = waiting("ann", "bob")
    assert [w.owner for w in fair_order(queue, [Training("t", "ann", 10.0)])] == ["bob", "ann"]


def test_a_free_slot_goes_to_someone_with_nothing_training_unless_only_trainers_wait():
    queue = waiting("ann", "bob")
    assert next_to_start(queue, [Training("t", "bob", 5.0)]).owner == "ann"
    assert next_to_start(waiting("ann"), [Training("t", "ann", 5.0)]).run_id == "r0"  # an idle slot helps nobody
    assert next_to_start([], []) is None


@given(st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=40))
def test_fair_order_is_a_permutation_whose_rounds_never_repeat_a_student(owners):
    order = fair_order(waiting(*owners), [])
    assert sorted(w.run_id for w in order) == sorted(f"r{i}" for i in range(len(owners)))
    seen_turns: dict[str, int] = {}
    rounds = []
    for w in order:
        seen_turns[w.owner] = seen_turns.get(w.owner, 0) + 1
        rounds.append(seen_turns[w.owner])
    assert rounds == sorted(rounds)  # round 1 for all, then round 2...
    mine = [w.run_id for w in order if w.owner == owners[0]]
    assert mine == sorted(mine, key=lambda rid: int(rid[1:]))  # each student's own runs in the order asked


def test_twenty_students_three_runs_each_the_first_twenty_starts_cover_everyone():
    rng = random.Random(0)
    owners = [f"s{i}" for i in range(20) for _ in range(3)]
    rng.shuffle(owners)
    assert len({w.owner for w in fair_order(waiting(*owners), [])[:20]}) == 20


def test_places_estimate_each_start_from_the_slots_as_they_free_up():
    queue = [Waiting("a", "ann", 0.0, 100.0), Waiting("b", "bob", 1.0, 50.0), Waiting("c", "cy", 2.0, 10.0)]
    result = places(queue, [Training("t", "dan", 30.0)], slots=2)
    assert [(p.run_id, p.place, p.of, p.start_in_s) for p in result] == [
        ("a", 1, 3, 0.0),  # the free slot
        ("b", 2, 3, 30.0),  # when dan's run ends
        ("c", 3, 3, 80.0),  # when b ends (a holds the other slot until 100)
    ]


def test_a_start_nothing_can_estimate_is_unknown_not_a_made_up_number():
    queue = [Waiting("a", "ann", 0.0, None), Waiting("b", "bob", 1.0, 20.0)]
    result = places(queue, [Training("t", "dan", None)], slots=1)
    assert [p.start_in_s for p in result] == [None, None]
    result = places(queue, [], slots=1)
    assert [p.start_in_s for p in result] == [0.0, None]  # a's length is unknown, so b's start is too


def test_runs_a_student_already_started_count_as_turns_taken():
    queue = waiting("ann", "ann", "bob")  # ann asked first, twice
    assert [w.owner for w in fair_order(queue, [], served={"ann": 1})] == ["bob", "ann", "ann"]
    assert next_to_start(queue, [], served={"ann": 1}).owner == "bob"
