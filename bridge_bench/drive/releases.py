"""The bridge across torch releases: the suite on many torch x numpy pairs, one environment at a time.

`asv.releases.json` declares the pairs: its matrix and exclude rules, read with asv's own matrix
code, so a pair asv would build is a pair this runs. A plain `asv run --config asv.releases.json`
builds every environment before it measures one, and each holds a CUDA build of torch with its
nvidia wheels (3-6 GB): a dozen do not fit this disk at once. So `sweep` takes the pairs in order,
one environment on disk at a time besides the next one, which is built while the current one is
measured: it runs the sweep's selection (`BENCH`) in rounds, one asv process each, as every run of
this package does (bridge_bench.drive.rounds: adaptive looks, the published figures finalized), runs
the semantics probe with the pair's own interpreter, and removes the environment. Results land where
the configuration puts them, under the names a plain `asv run` of it gives, so `asv publish --config
asv.releases.json` draws them, and `bridge_bench.write.releases_report` reads them with the probes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bridge_bench import catalogue, inputs, messages, suite
from bridge_bench.measure import context, plan
from bridge_bench.drive import asvrun, rounds
from bridge_bench.read import sweep_folder

#: What each pair runs: the size sweep of every host path (timed looks and counts), the dtype and
#: layout sweeps at the in-cache size only (the per-element and per-layout cost of a release; the
#: memory-bound end is the size sweep's), building a float32 batch (PyTorch issue 13918 across
#: releases), and the context the benchmark processes saw.
BATCHES = suite.regex(suite.BY_NAME["bench_batch.BatchToTorch.time_convert"])
BENCH = [
    *[suite.regex(b) for b in suite.BENCHMARKS if b.module == "bench_sizes"],
    *[suite.regex(b, rf"'[^']*', {inputs.IN_CACHE}, .*")
      for b in suite.BENCHMARKS if b.module in ("bench_dtypes", "bench_layouts")],
    BATCHES,
    *[suite.regex(b) for b in suite.CONTEXT_TRACKS],
]
#: While the sweep waits for a build, it says what pip is at this often.
HEARTBEAT_S = 15


class PairFailed(RuntimeError):
    """A pair that did not install or run; the message names it and says what to do."""


@dataclass
class Pair:
    """One environment of the sweep: asv's name for it, its versions, where asv builds it."""

    name: str
    torch: str
    numpy: str
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def __str__(self) -> str:
        return f"torch {self.torch} + numpy {self.numpy}"


@dataclass
class Outcome:
    """What became of one pair: seconds spent building, measuring and probing, the disk it took."""

    name: str
    torch: str
    numpy: str
    status: str = "pending"
    error: str = ""
    setup_s: float = 0.0
    run_s: float = 0.0
    probe_s: float = 0.0
    env_bytes: int = 0
    finished: str = field(default="")


def pairs(config: Path, torch_versions: list[str] | None = None) -> list[Pair]:
    """The configuration's environments as asv expands them (matrix minus exclude rules), in order."""
    from asv import environment
    from asv.config import Config

    asvrun.load_config(config)  # a clear error for a missing or unreadable file
    conf = Config.load(str(config))
    found = []
    for env in environment.get_environments(conf, None, verbose=False):
        req = env.requirements
        if "torch" not in req or "numpy" not in req:
            raise asvrun.AsvError(f"{config}: every environment of a releases sweep needs a torch and a numpy "
                                  f"in its matrix; {env.name} has {req}")
        found.append(Pair(env.name, req["torch"], req["numpy"], config.resolve().parent / conf.env_dir / env.dir_name))
    if torch_versions:
        unknown = set(torch_versions) - {p.torch for p in found}
        if unknown:
            raise asvrun.AsvError(f"{config}: no environment with torch {', '.join(sorted(unknown))}; "
                                  f"its matrix has {', '.join(dict.fromkeys(p.torch for p in found))}")
        found = [p for p in found if p.torch in torch_versions]
    return found


def single_config(config: Path, pair: Pair, workdir: Path) -> Path:
    """`config` with a matrix of `pair` only, outputs where `config` puts them: asv then builds,
    runs and names exactly that environment."""
    return asvrun.rewrite_config(config, workdir / "configs" / f"{pair.name}.json",
                                 matrix={"req": {"torch": [pair.torch], "numpy": [pair.numpy]}})


def _disk(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def _versions(python: Path) -> tuple[str, str] | None:
    proc = subprocess.run([str(python), "-c", "import torch, numpy; print(torch.__version__, numpy.__version__)"],
                          capture_output=True, text=True)
    return tuple(proc.stdout.split()) if proc.returncode == 0 else None


def _installed(pair: Pair) -> bool:
    """Whether the pair's interpreter imports its torch release and its numpy."""
    found = _versions(pair.python) if pair.python.exists() else None
    return bool(found) and catalogue.public_version(found[0]) == pair.torch and found[1] == pair.numpy


def build(pair: Pair, pair_config: Path, log: Path, pip_cache: Path) -> float:
    """Build the pair's environment with asv (`asv setup`: a virtualenv, then pip installs the pinned
    torch and numpy); its output goes to `log`. PairFailed naming the pair if torch or numpy does not
    import there afterwards. Returns the seconds it took."""
    start = time.monotonic()
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PIP_CACHE_DIR": str(pip_cache)}
    with log.open("w") as fh:
        # asv setup's exit status does not say whether the environment was built (asv 0.6.6 exits
        # non-zero after building); importing torch and numpy there does.
        subprocess.run(asvrun.asv_command("setup", "--config", str(pair_config), "-v"), stdout=fh,
                       stderr=subprocess.STDOUT, env=env, cwd=pair_config.parent)
    if not _installed(pair):
        said = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
        errors = [line for line in said if "error" in line.lower()] or said or ["no output"]
        raise PairFailed(f"{pair} did not install ({errors[-1][:200]}); full log: {log}. Exclude the pair in the "
                         "configuration's 'exclude' if this release cannot run beside that numpy")
    return time.monotonic() - start


def measure(pair: Pair, pair_config: Path, machine: str, bench: list[str] = BENCH,
            looks: int = plan.LOOKS) -> None:
    """The selection in rounds of asv processes (bridge_bench.drive.rounds: adaptive looks, at most
    `looks`), finalized."""
    results = asvrun.results_dir(pair_config)
    rounds.run(pair_config, machine, bench, rounds=looks, managed=True, label=f"releases: {pair}")
    if not _installed(pair):
        raise PairFailed(f"{pair}: the environment no longer holds that torch and numpy after the run; "
                         f"its results in {results} are not that pair's (did the project install upgrade one?)")


def probe(pair: Pair, out: Path) -> None:
    """The semantics probe with the pair's interpreter (asv installed the project there) into `out`:
    `python -m bridge_bench.measure.semantics`, the probe as `bridge-bench semantics --json` runs it,
    which needs torch and numpy only (asv installs the project with --no-deps, so the command line's
    dependencies are not there)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with tmp.open("w") as fh:
        proc = subprocess.run([str(pair.python), "-m", "bridge_bench.measure.semantics"], stdout=fh,
                              stderr=subprocess.PIPE, text=True)
    if proc.returncode:
        tmp.unlink(missing_ok=True)
        raise PairFailed(f"{pair}: the semantics probe failed ({messages.last_line(proc.stderr)})")
    tmp.replace(out)


class _Builder:
    """Builds one pair in a background thread, so the next environment installs while one is measured."""

    def __init__(self, pair: Pair, pair_config: Path, workdir: Path):
        self.pair, self.seconds, self.error = pair, 0.0, None
        cache = workdir / "pip-cache" / f"torch-{pair.torch}"
        self.log = workdir / "logs" / f"{pair.name}-setup.log"
        self.thread = threading.Thread(target=self._build, args=(pair_config, self.log, cache), daemon=True)
        self.thread.start()

    def _build(self, pair_config: Path, log: Path, cache: Path) -> None:
        try:
            self.seconds = build(self.pair, pair_config, log, cache)
        except PairFailed as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a build that could not even start fails its pair, not the sweep
            self.error = f"{self.pair} could not be built ({type(exc).__name__}: {exc}); full log: {log}"

    def result(self) -> tuple[float, str | None]:
        """Wait for the build, saying every `HEARTBEAT_S` what pip is at (the last line of its log)."""
        self.thread.join(HEARTBEAT_S)
        while self.thread.is_alive():
            text = self.log.read_text(errors="replace") if self.log.is_file() else ""
            said = [line.strip() for line in text.splitlines()
                    if line.strip().startswith(("Collecting", "Downloading", "Installing", "Successfully"))]
            messages.progress(f"releases: {self.pair}: still building "
                              f"({said[-1][:100] if said else 'creating the virtualenv'})")
            self.thread.join(HEARTBEAT_S)
        return self.seconds, self.error


def sweep(config: Path, machine: str, torch_versions: list[str] | None = None, keep: bool = False,
          bench: list[str] = BENCH, looks: int = plan.LOOKS) -> list[Outcome]:
    """Build, measure, probe and remove every pair in order (module docstring); the outcome of each,
    also written to sweep_folder.RECORD beside the results. A pair that fails is recorded and the sweep goes on."""
    todo = pairs(config, torch_versions)
    results = asvrun.results_dir(config)
    workdir = results.parent
    outcomes: list[Outcome] = []
    configs = {p.name: single_config(config, p, workdir) for p in todo}
    builder = _Builder(todo[0], configs[todo[0].name], workdir) if todo else None
    for i, pair in enumerate(todo):
        outcome = Outcome(pair.name, pair.torch, pair.numpy)
        outcomes.append(outcome)
        messages.progress(f"releases: [{i + 1}/{len(todo)}] {pair}: building its environment")
        outcome.setup_s, error = builder.result()
        later = todo[i + 1:]
        if not any(p.torch == pair.torch for p in later):
            shutil.rmtree(workdir / "pip-cache" / f"torch-{pair.torch}", ignore_errors=True)
        builder = _Builder(later[0], configs[later[0].name], workdir) if later else None
        try:
            if error:
                raise PairFailed(error)
            outcome.env_bytes = _disk(pair.path)
            messages.progress(f"releases: {pair}: built in {outcome.setup_s:.0f} s ({outcome.env_bytes / 1e9:.1f} GB)")
            start = time.monotonic()
            measure(pair, configs[pair.name], machine, bench, looks)
            outcome.run_s = time.monotonic() - start
            start = time.monotonic()
            probe(pair, workdir / sweep_folder.SEMANTICS / f"{pair.name}.json")
            outcome.probe_s = time.monotonic() - start
            outcome.status = "ok"
        except (PairFailed, asvrun.AsvError) as exc:
            outcome.status, outcome.error = "failed", str(exc)
            messages.progress(f"releases: {pair}: FAILED: {exc}")
        finally:
            outcome.finished = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            if not keep:
                shutil.rmtree(pair.path, ignore_errors=True)
            _remember(workdir, outcome)
    return outcomes


def run(config: Path, machine: str, torch_versions: list[str] | None = None, keep: bool = False,
        bench: list[str] | None = None) -> int:
    """`bridge-bench releases`: the machine file, then `sweep` (of `bench`, asv --bench regexes, with
    the context tracks; default `BENCH`), each pair summed up on stderr at the end. 1 if a pair
    failed (the other pairs' results are kept), else 0."""
    todo = pairs(config, torch_versions)
    context.update_machine_file(machine, context.machine_entry())
    messages.progress(f"releases: {len(todo)} environments: " + "; ".join(map(str, todo)))
    outcomes = sweep(config, machine, torch_versions, keep=keep, bench=suite.with_readings(bench) if bench else BENCH)
    failed = [o for o in outcomes if o.status != "ok"]
    for o in outcomes:
        messages.progress(f"releases: torch {o.torch} + numpy {o.numpy}: {o.status}, built in {o.setup_s:.0f} s, "
                          f"measured in {o.run_s:.0f} s, probed in {o.probe_s:.0f} s, {o.env_bytes / 1e9:.1f} GB"
                          + (f": {o.error}" if o.error else ""))
    if failed:
        print("bridge-bench: error: " + "; ".join(f"torch {o.torch} + numpy {o.numpy} failed" for o in failed)
              + f" (reasons above and in {sweep_folder.RECORD}); the other pairs' results are kept", file=sys.stderr)
    return 1 if failed else 0


def _remember(workdir: Path, outcome: Outcome) -> None:
    """Add `outcome` to sweep_folder.RECORD, replacing an earlier outcome of the same pair (a sweep run again)."""
    kept = [o for o in sweep_folder.read_record(workdir) if o["name"] != outcome.name]
    (workdir / sweep_folder.RECORD).write_text(json.dumps(kept + [asdict(outcome)], indent=1) + "\n")
