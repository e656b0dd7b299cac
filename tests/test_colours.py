"""A path's plot colour is a function of its id alone: adding or removing a path recolours no other,
and the paths drawn together in one figure (a direction; the copying host paths of the bandwidth
figure) have distinct colours."""

import dataclasses

import pandas as pd
import pytest

from bridge_bench import catalogue
from bridge_bench.write import plots


def _colours(ids):
    return {pid: plots.colour(pid) for pid in ids}


def _with_catalogue(monkeypatch, records):
    monkeypatch.setattr(catalogue, "CATALOGUE", tuple(records))
    monkeypatch.setattr(catalogue, "BY_ID", {p.id: p for p in records})
    monkeypatch.setattr(catalogue, "PATH_IDS", tuple(p.id for p in records))


@pytest.mark.parametrize("direction", catalogue.DIRECTIONS)
def test_the_paths_of_a_direction_have_distinct_colours(direction):
    colours = _colours(catalogue.ids(direction))
    assert len(set(colours.values())) == len(colours), colours


def test_the_copying_host_paths_drawn_in_one_bandwidth_figure_have_distinct_colours():
    colours = _colours([pid for pid in catalogue.HOST_PATH_IDS if not catalogue.get(pid).shares])
    assert len(set(colours.values())) == len(colours), colours


def test_every_record_names_a_slot_of_the_palette():
    for record in catalogue.CATALOGUE:
        assert record.colour in range(len(plots.PALETTE)), record.id


def test_adding_or_removing_a_path_recolours_no_other(monkeypatch):
    before = _colours(catalogue.PATH_IDS)
    new = catalogue.Conversion("fake_first", catalogue.NUMPY_TO_TORCH, "fake(a)", "numpy", shares=True)
    _with_catalogue(monkeypatch, (new, *catalogue.CATALOGUE))  # first: every other path moves down one place
    assert _colours(before) == before
    assert plots.colour("fake_first") in plots.PALETTE, "a record without a slot gets one from its id"
    assert plots.colour("fake_first") == plots.colour("fake_first")
    monkeypatch.undo()

    gone = catalogue.CATALOGUE[0].id
    _with_catalogue(monkeypatch, catalogue.CATALOGUE[1:])  # the first path removed
    assert _colours(catalogue.PATH_IDS) == {pid: before[pid] for pid in catalogue.PATH_IDS}
    assert plots.colour(gone) in plots.PALETTE, "an old result's path still gets a colour"


def test_a_figure_draws_each_path_in_its_colour(monkeypatch):
    ids = catalogue.ids(catalogue.TORCH_TO_NUMPY)
    rows = pd.DataFrame([{"path": pid, "label": catalogue.get(pid).label, "size": size, "value": 1e-6}
                         for pid in ids for size in (8, 1024)])
    fig = plots.time_vs_size(rows, "torch->numpy")
    drawn = {line.get_label(): line.get_color() for line in fig.axes[0].get_lines()}
    assert drawn == {catalogue.get(pid).label: plots.colour(pid) for pid in ids}
    plots.plt.close(fig)

    # a record may change its slot; only it changes colour
    moved = dataclasses.replace(catalogue.get(ids[0]), colour=19)
    monkeypatch.setitem(catalogue.BY_ID, ids[0], moved)
    assert plots.colour(ids[0]) == plots.PALETTE[19]
    assert all(plots.colour(pid) == drawn[catalogue.get(pid).label] for pid in ids[1:])
