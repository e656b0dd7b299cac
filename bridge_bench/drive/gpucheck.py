"""`bridge-bench gpu-check`: the CUDA transfer benchmarks checked for real on a GPU box, loudly.

Runs the CUDA benchmarks (not --quick) over a reduced size set (inputs.CHECK_SIZES, float32; no
dtype sweep), the first-call pin_memory case, both ceilings and the context trackers, each CUDA
case once in one process (bridge_bench.drive.rounds), then the CUDA-marked tests. It passes only when
(`problems` says what failed, one line each):

- the installed asv and asv_runner are the versions the project pins (the timing relies on
  asv_runner 0.3's handling of setup hooks and samples: benchmarks/common.py);
- the GPU is the check's alone (no other compute process: another job's copies share the link);
- every CUDA case of the selection ran: a skip on a CUDA box is a failure, named with its reason,
  unless the catalogue says the path cannot run with this torch or numpy (`min_torch`, `min_numpy`);
- both ceilings were measured, and no transfer is above its ceiling (bridge_bench.read.ceilings);
- a pinned 256 MiB copy each way timed in a plain loop with CUDA events, outside the suite, agrees
  with the suite's ceiling within `AGREE` (`devices.plain_ceilings`);
- the CUDA-marked tests pass.

Without CUDA it refuses (bad input) unless allowed, saying which torch CUDA build and which driver
it found; allowed, it passes only if every CUDA case skipped for the lack of CUDA, which is what
CPU CI checks. `scripts/gpu-check` installs what a bare GPU box lacks from a folder of wheels and
then runs this.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

from bridge_bench import catalogue, errors, inputs, messages, suite
from bridge_bench.measure import devices
from bridge_bench.drive import asvrun, rounds
from bridge_bench.read import ceilings, results
from bridge_bench.inputs import Unsupported

#: The suite's ceiling and the plain loop's must agree within this factor.
AGREE = 1.10
#: The distributions whose versions the timing relies on, pinned in pyproject.toml's `bench` extra.
PINNED = ("asv", "asv_runner")


def bench_regexes(sizes) -> list[str]:
    """asv --bench regexes: the CUDA size sweep and first-call pin at `sizes`, the ceilings, the context."""
    size = "|".join(str(s) for s in sizes)
    return ([suite.regex(b, rf"'\w+', ({size}), 'float32', 'C'") for b in suite.CUDA_SIZE_SWEEPS]
            + [suite.regex(b) for b in (suite.CUDA_CEILINGS, *suite.CONTEXT_TRACKS)])


def selected(frame: pd.DataFrame, sizes) -> pd.DataFrame:
    """The CUDA cases of the check's selection (asv stores cases it did not run as skipped too)."""
    return frame[frame["benchmark"].isin([b.name for b in suite.CUDA]) & frame["size"].isin(sizes)]


def statuses(cases: pd.DataFrame) -> dict[str, int]:
    return {s: int((cases["status"] == s).sum()) for s in ("ok", "skipped", "failed")}


def case_name(row) -> str:
    """A case as asv names it (the key of the run's record of refusals)."""
    return f"{row['benchmark']}{(row['path'], int(row['size']), row['dtype'], row['layout'])}"


def may_skip(path_id: str, torch_version, numpy_version) -> bool:
    """Whether the catalogue says this path cannot run with these versions."""
    record = catalogue.BY_ID.get(path_id)
    if record is None:
        return False
    needs = ((record.min_torch, torch_version), (record.min_numpy, numpy_version))
    too_old = [(need, str(have)) for need, have in needs
               if need and have and not pd.isna(have)]
    return any(catalogue.release_tuple(have) < catalogue.release_tuple(need) for need, have in too_old)


def problems(frame: pd.DataFrame, refused: dict[str, str], sizes, cuda: bool) -> list[str]:
    """What keeps the suite's run from passing the check, one line each ([] when it passes).

    `frame` is the run's results (results.load, every status), `refused` the run's record of why
    each case skipped (case name -> reason), `cuda` whether this box has a usable CUDA device."""
    cases = selected(frame, sizes)
    if cases.empty:
        return ["no CUDA case of the check's selection is in the results: asv ran nothing (see its output above)"]
    found = []
    for _, row in cases[cases["status"] != "ok"].iterrows():
        reason = refused.get(case_name(row), "no reason recorded (asv's output above)")
        if not cuda:
            if row["status"] == "failed" or "CUDA" not in reason:
                found.append(f"{case_name(row)}: {row['status']} without CUDA for another reason: {reason}")
        elif row["status"] == "failed":
            found.append(f"{case_name(row)}: failed (its traceback is in asv's output above)")
        elif not may_skip(row["path"], row.get("torch"), row.get("numpy")):
            found.append(f"{case_name(row)}: skipped on a CUDA box: {reason}")
    if not cuda:
        return found + [f"{n} CUDA cases ran on a box without CUDA" for n in [statuses(cases)["ok"]] if n]
    measured = frame[frame["status"] == "ok"]
    bounds = ceilings.ceilings(measured)
    have = set(bounds.loc[bounds["ceiling_gbps"] > 0, "ceiling"])  # NaN is not a ceiling
    found += [f"no {pid} measured: the transfers of its direction cannot be checked"
              for pid in (catalogue.H2D_CEILING, catalogue.D2H_CEILING) if pid not in have]
    for _, v in ceilings.violations(measured).iterrows():
        found.append(f"{v['label']} at {int(v['size'])} B: {v['gbps']:.1f} GB/s, above its ceiling "
                     f"{v['ceiling_gbps']:.1f} GB/s: a measurement error")
    return found


def against_plain(suite_gbps: dict[str, float], plain_gbps: dict[str, float], agree: float = AGREE) -> list[str]:
    """The suite's ceilings against a plain loop's, one problem per direction that disagrees."""
    found = []
    for pid, plain in plain_gbps.items():
        mine = suite_gbps.get(pid, math.nan)
        if not (plain / agree <= mine <= plain * agree):
            found.append(f"{pid}: the suite read {mine:.1f} GB/s, a plain loop of CUDA-event-timed copies "
                         f"{plain:.1f} GB/s: more than {agree:.2f}x apart")
    return found


def pin_problems() -> list[str]:
    """The installed asv and asv_runner against the versions this project pins."""
    from packaging.requirements import Requirement

    try:
        wanted = [Requirement(r) for r in metadata.requires("bridge-bench") or []]
    except metadata.PackageNotFoundError:
        return ["bridge-bench is not installed as a package: install the checkout (pip install -e '.[bench]', "
                "or scripts/gpu-check --wheels DIR)"]
    found = []
    for req in (r for r in wanted if r.name in PINNED):
        try:
            have = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            have = None
        if have is None or not req.specifier.contains(have, prereleases=True):
            found.append(f"{req.name} {have or 'is not installed'}: the project pins {req.name}{req.specifier}")
    return found


def has_cuda(allow_no_cuda: bool) -> bool:
    """Whether CUDA is usable; bad input without it (saying which build and driver), unless allowed."""
    try:
        devices.require()
        return True
    except Unsupported as exc:
        if not allow_no_cuda:
            raise errors.InputError(
                f"{exc}; --allow-no-cuda runs the check anyway (every CUDA case must skip)") from None
        messages.progress(f"gpu-check: {exc}: every CUDA case must skip")
        return False


def plain_ceilings(binding: list[str]) -> dict[str, float]:
    """`devices.plain_ceilings` in a fresh process under the suite's NUMA binding (`binding`):
    `python -m bridge_bench.measure.devices ceilings`."""
    proc = subprocess.run([*binding, sys.executable, "-m", "bridge_bench.measure.devices", "ceilings"],
                          capture_output=True, text=True)
    if proc.returncode:
        raise asvrun.AsvError(f"the plain-loop ceilings failed: {messages.last_line(proc.stderr)}")
    return json.loads(proc.stdout)


def run(config: Path, out: Path, machine: str, allow_no_cuda: bool) -> int:
    """The check; 0 when it passes, 1 otherwise (every problem printed, one line each)."""
    start = time.monotonic()
    found = pin_problems()
    cuda = has_cuda(allow_no_cuda)
    busy = devices.gpu_users() if cuda else []
    if busy:
        print("gpu-check: FAIL: the GPU is in use by other processes (their copies and kernels would share it): "
              + "; ".join(busy), file=sys.stderr)
        return 1
    conf = asvrun.private_config(config, out.resolve())
    env = asvrun.private_env(out.resolve() / "home", machine)
    outcome = rounds.run(conf, machine, bench_regexes(inputs.CHECK_SIZES), env=env, extra=["--show-stderr"],
                         label="gpu-check")
    try:
        frame = results.load([asvrun.results_dir(conf)], drop_unusable=False).frame
    except results.ResultsError as exc:  # not the user's input: asv's output
        raise asvrun.AsvError(f"asv wrote nothing usable: {exc}") from None
    found += problems(frame, outcome.refused, inputs.CHECK_SIZES, cuda)
    cases = selected(frame, inputs.CHECK_SIZES)
    gpu = frame.loc[frame["status"] == "ok", "gpu"].dropna().unique()
    print(f"\nGPU: {', '.join(gpu) if len(gpu) else 'none'}; CUDA cases: "
          + ", ".join(f"{n} {s}" for s, n in statuses(cases).items())
          + f"; {time.monotonic() - start:.0f} s for the suite's part, {len(cases)} cases")
    if cuda:
        measured = frame[frame["status"] == "ok"]
        print(ceilings.render(measured))
        bounds = ceilings.ceilings(measured)
        suite_gbps = dict(zip(bounds["ceiling"], bounds["ceiling_gbps"]))
        plain = plain_ceilings(devices.numa_binding())
        print("ceilings, GB/s: " + "; ".join(f"{pid}: suite {suite_gbps.get(pid, math.nan):.1f}, plain loop {g:.1f}"
                                            for pid, g in plain.items()))
        found += against_plain(suite_gbps, plain)
    root = config.resolve().parent
    tests = subprocess.call([sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider",
                             str(root / "tests")], cwd=root)
    print(f"CUDA-marked tests: exit {tests}")
    if tests:
        found.append(f"the CUDA-marked tests failed (exit {tests}): their output is above")
    for problem in found:
        print(f"gpu-check: FAIL: {problem}")
    print(f"gpu-check: {'FAIL' if found else 'pass'} in {time.monotonic() - start:.0f} s")
    return 1 if found else 0
