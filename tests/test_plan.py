"""How many looks a case gets (bridge_bench.measure.plan): the staged design and the fixed one, on records
made by hand, so every rule is exercised exactly, whatever the machine is doing."""

import pytest

from bridge_bench.measure import plan, timing

ZERO_COPY = "bench_sizes.NumpyToTorch.time_convert('from_numpy', 8, 'float32', 'C')"
COPY_IN_CACHE = "bench_sizes.NumpyToTorch.time_convert('tensor', 65536, 'float32', 'C')"
COPY_64MIB = "bench_sizes.Reference.time_convert('np_copy', 67108864, 'float32', 'C')"


def record(case, samples, quiet=None):
    return {"case": case, "rounds": len(samples), "samples": list(samples),
            "quiet": [True] * len(samples) if quiet is None else list(quiet)}


def test_a_case_name_gives_back_its_parameters_and_class():
    assert plan.params(ZERO_COPY) == ("from_numpy", 8, "float32", "C")
    assert plan.case_class(record(ZERO_COPY, [5e-7])) == "call-bound"
    assert plan.case_class(record(COPY_IN_CACHE, [6e-6])) == "in-cache"
    assert plan.case_class(record(COPY_64MIB, [5e-3])) == "memory-bound"


def test_adaptive_looks_first_looks_then_stops_once_the_kept_looks_agree():
    agreeing = [5.0e-7, 5.1e-7, 5.05e-7, 5.2e-7]
    assert all(plan.due(record(ZERO_COPY, agreeing[:n]), n + 1, "adaptive") for n in range(plan.FIRST_LOOKS))
    assert plan.settled(record(ZERO_COPY, agreeing))
    assert not plan.due(record(ZERO_COPY, agreeing), plan.FIRST_LOOKS + 1, "adaptive")


def test_adaptive_keeps_looking_where_looks_spread_met_spells_or_held_no_quiet_moment():
    spread = [5.0e-7, 5.4e-7, 5.1e-7, 5.6e-7]  # within QUIET of the fastest, but 1.12x apart
    assert not plan.settled(record(ZERO_COPY, spread)), "a call-bound figure is pinned within AGREE"
    in_cache = [6.0e-6, 6.4e-6, 6.2e-6, 6.6e-6]  # any three of them at least 1.065x apart
    assert plan.settled(record(COPY_IN_CACHE, in_cache)), "a copy in cache is allowed more"
    assert not plan.settled(record(ZERO_COPY, [x / 12 for x in in_cache]))
    spells = [5.0e-7, 1.0e-6, 1.1e-6, 5.1e-7]  # two looks met a spell: only two are kept
    assert not plan.settled(record(ZERO_COPY, spells))
    unquiet = [5.0e-7, 5.1e-7, 5.05e-7, 5.2e-7]
    assert not plan.settled(record(ZERO_COPY, unquiet, [True, False, False, False])), "one quiet look is not enough"
    assert plan.settled(record(ZERO_COPY, spread * 3)), f"{plan.LOOKS} looks with quiet ones end it whatever they say"


def test_adaptive_gives_overtime_only_to_fast_cases_that_never_had_quiet_looks():
    """A heavy stretch can cover all 12 looks of a call: its figure then reads 1.6-2x. Such a case
    (and only such) looks in the overtime rounds, up to LOOKS + OVERTIME; rigorous runs never do."""
    slow_mode = [1.7e-6, 1.8e-6, 1.75e-6, 1.9e-6] * 3
    short = record(ZERO_COPY, slow_mode, [False] * 11 + [True])
    assert not plan.settled(short) and plan.due(short, plan.LOOKS + 1, "adaptive")
    assert plan.last_round(plan.LOOKS, "rigorous") == plan.LOOKS
    assert plan.last_round(plan.LOOKS, "adaptive") == plan.MOST_LOOKS == plan.LOOKS + plan.OVERTIME
    assert plan.last_round(4, "adaptive") == 4, "a run asked for fewer rounds gets no overtime"
    assert plan.extends(short, plan.LOOKS + 1, "adaptive"), "overtime looks wait for a quiet moment too"
    done = record(ZERO_COPY, slow_mode + slow_mode[:plan.OVERTIME], [False] * plan.MOST_LOOKS)
    assert plan.settled(done), "overtime ends"
    quiet = record(ZERO_COPY, slow_mode, [True, True] + [False] * 10)
    assert plan.settled(quiet), "a case with its quiet looks ends at LOOKS"
    assert plan.settled(record(COPY_64MIB, [x * 3000 for x in slow_mode], [False] * 12)), \
        "a slow case's spells are not the canary's: no overtime"


def test_adaptive_memory_bound_cases_agree_within_their_own_factor():
    looks = [5.0e-3, 5.6e-3, 5.3e-3, 5.4e-3]  # three of them 1.06x apart
    assert plan.settled(record(COPY_64MIB, looks))
    assert plan.settled(record(COPY_64MIB, looks, [False] * 4)), "a slow case's spells are not the canary's"
    assert not plan.settled(record(COPY_64MIB, [5.0e-3, 5.9e-3, 6.3e-3, 5.6e-3]))


def test_rigorous_looks_every_round_and_slow_agreeing_cases_every_second_round():
    fast, slow = record(ZERO_COPY, [5e-7] * 4), record(COPY_64MIB, [5e-3, 5.2e-3])
    assert all(plan.due(fast, r, "rigorous") for r in range(1, plan.LOOKS + 1))
    assert [plan.due(slow, r, "rigorous") for r in (3, 4, 5, 6)] == [True, False, True, False]
    spread = record(COPY_64MIB, [5e-3, 6.5e-3])  # past estimate.QUIET: every round from now on
    assert all(plan.due(spread, r, "rigorous") for r in (3, 4, 5, 6))


def test_a_refused_case_never_looks_again():
    refused = {**record(ZERO_COPY, []), "refused": "torch.from_numpy(a) refuses it: ValueError: negative strides"}
    assert not plan.due(refused, 2, "adaptive") and not plan.due(refused, 2, "rigorous")


@pytest.mark.parametrize("mode", plan.MODES)
def test_a_fast_case_short_of_quiet_looks_extends_only_its_last_looks(mode):
    def at(n_looks, quiet):
        state = record(ZERO_COPY, [5e-7] * n_looks, [quiet] * n_looks)
        return plan.extends(state, n_looks + 1, mode)

    last = plan.LOOKS - plan.EXTEND_LOOKS
    assert at(last, False) and at(plan.LOOKS - 1, False)
    assert not at(last - 1, False), "not before the last looks"
    assert not at(last, True), "a case with quiet looks has no need"
    slow = record(COPY_64MIB, [5e-3] * last, [False] * last)
    assert not plan.extends(slow, last + 1, mode), "a slow case is not extended"


def test_the_mode_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(plan.MODE_VARIABLE, raising=False)
    assert plan.mode() == "adaptive"
    monkeypatch.setenv(plan.MODE_VARIABLE, "rigorous")
    assert plan.mode() == "rigorous"
    monkeypatch.setenv(plan.MODE_VARIABLE, "sloppy")
    with pytest.raises(ValueError, match="sloppy"):
        plan.mode()


def test_the_round_is_the_drivers_else_the_cases_own_count(monkeypatch):
    monkeypatch.delenv(plan.ROUND_VARIABLE, raising=False)
    assert plan.round_of({"rounds": 3}) == 3
    monkeypatch.setenv(plan.ROUND_VARIABLE, "7")
    assert plan.round_of({"rounds": 3}) == 7


def test_a_run_counts_the_fast_cases_short_of_quiet_looks():
    states = [record(ZERO_COPY, [5e-7] * 3, [True, True, False]),
              record(COPY_IN_CACHE, [6e-6] * 3, [False, True, False]), record(COPY_64MIB, [5e-3] * 3, [False] * 3)]
    assert plan.short_of_quiet(states) == (1, 2), "one fast case of two; the slow one is not counted"
    assert timing.BATCH_S < 5e-3


def test_a_majority_of_the_kept_looks_pins_the_figure_one_odd_look_does_not_keep_a_case_looking():
    usual, rare = 5.0e-7, 4.55e-7  # a rare layout ~9 % faster
    assert plan.band([rare, usual, usual * 1.01, usual * 1.02]) == pytest.approx(1.02)
    assert plan.settled(record(ZERO_COPY, [usual, rare, usual * 1.01, usual * 1.02]))
    two_modes = [rare, rare * 1.01, usual, usual * 1.01]
    assert plan.band(two_modes) > plan.AGREE["call-bound"] and not plan.settled(record(ZERO_COPY, two_modes))
    assert plan.band([usual, usual]) == float("inf"), f"fewer than {plan.MIN_KEPT} kept looks pin nothing"
    eight = [rare, rare, usual, usual, usual * 1.01, usual * 1.02, usual * 1.03, usual * 1.04]
    assert plan.band(eight) == pytest.approx(1.03), "five of eight, the narrowest five"
