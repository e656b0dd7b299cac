"""Running asv on this project: the existing environment, the machine entry, the commit, results.

The main job and the fidelity check both run a real `asv run -E existing`. asv saves results of an
existing environment only with `--set-commit-hash`, so the checkout's HEAD is passed. The fidelity
check and the tests run asv against a private copy of the configuration (results in a temporary
folder) and a private HOME, so they never touch the user's results or `~/.asv-machine.json`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from bridge_bench import estimate, messages
from bridge_bench.measure import devices


class AsvError(RuntimeError):
    """asv or git failed; the message says what to do next."""


def load_config(config: Path) -> dict:
    from asv.util import load_json

    if not config.is_file():
        raise AsvError(f"{config}: no asv configuration here; run from a bridge-bench checkout or pass --config")
    try:
        return load_json(str(config), js_comments=True)
    except Exception as exc:  # asv raises its own UserError subclasses for bad JSON
        raise AsvError(f"{config}: not a readable asv configuration: {messages.first_line(exc)}") from None


def head_commit(repo: Path) -> str:
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    if proc.returncode:
        raise AsvError(f"{repo}: not a git checkout with a commit; asv needs one to label results")
    return proc.stdout.strip()


#: The folders asv writes, and the names asv gives them where the configuration names none.
OUTPUTS = {"results_dir": "results", "html_dir": "html", "env_dir": "env"}


def rewrite_config(config: Path, out: Path, outputs: Path | None = None, matrix: dict | None = None) -> Path:
    """`config` rewritten into `out`, which asv can read from any folder: the repo and the benchmarks
    absolute, the folders asv writes (`OUTPUTS`) under `outputs` where given, else absolute where
    `config` puts them; with `matrix`, that matrix alone (`config`'s exclude and include rules
    dropped). The one rewrite of a configuration: `private_config` and the releases sweep's
    `single_config` are both this."""
    conf = load_config(config)
    root = config.resolve().parent
    conf["repo"] = str(root / conf.get("repo", "."))
    conf["benchmark_dir"] = str(root / conf.get("benchmark_dir", "benchmarks"))
    for key, default in OUTPUTS.items():
        conf[key] = str(outputs / default if outputs else root / conf.get(key, default))
    if matrix is not None:
        conf.pop("exclude", None)
        conf.pop("include", None)
        conf["matrix"] = matrix
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(conf, indent=2))
    return out


def private_config(config: Path, workdir: Path) -> Path:
    """A copy of `config` whose repo is the checkout and whose outputs live under `workdir`."""
    return rewrite_config(config, workdir / "asv.conf.json", outputs=workdir)


def asv_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "asv", *args]


def run_asv(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    """Run asv, streaming its progress lines to stderr; AsvError if it fails. On a host where the GPU's
    NUMA node is known and numactl exists, asv and every benchmark process run bound to that node
    (devices.numa_binding)."""
    proc = subprocess.Popen([*devices.numa_binding(), *asv_command(*args)], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    tail: list[str] = []
    for line in proc.stdout:
        sys.stderr.write(line)
        tail = (tail + [line.rstrip()])[-5:]
    if proc.wait():
        raise AsvError(f"asv {args[0]} exited with {proc.returncode}: " + (tail[-1] if tail else "no output"))


def results_dir(config: Path) -> Path:
    """Where the configuration puts asv's results (relative paths are relative to the configuration)."""
    return config.resolve().parent / load_config(config).get("results_dir", "results")


def run_round(config: Path, machine: str, bench: list[str], env: dict[str, str], extra: list[str] = (),
              python: str | None = None, append: bool = False, managed: bool = False) -> str:
    """One round: one `asv run -a rounds=1`, appending its samples to the run's results when `append`.
    On the existing environment (`python`, by default this one), or with `managed` on the
    configuration's own environments, which asv builds the checkout's HEAD into."""
    repo = config.resolve().parent / load_config(config).get("repo", ".")
    commit = head_commit(repo)
    where = [f"{commit}^!"] if managed else ["-E", f"existing:{python}" if python else "existing",
                                             "--set-commit-hash", commit]
    args = ["run", "--config", str(config), "--machine", machine, *where,
            "--record-samples", "-a", "rounds=1", *["--append-samples"] * append, *extra]
    for regex in bench:
        args += ["--bench", regex]
    run_asv(args, env=env, cwd=repo)
    return commit


def bench_regex(benchmark: str, params: tuple) -> str:
    """An asv --bench regex selecting one parameter combination of `benchmark`."""
    return re.escape(f"{benchmark}({', '.join(repr(p) for p in params)})") + "$"


def private_env(home: Path, machine: str, python: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for an asv run with a private HOME holding this machine's entry.

    The entry is written by `bridge-bench machine` in a child under that environment and with the
    interpreter that will run the benchmarks (`python`, by default this one): `extra` may change
    the context itself (OMP_NUM_THREADS, THP_MEM_ALLOC_ENABLE), which this process, its torch
    already started, cannot see.
    """
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home), **extra}
    proc = subprocess.run([python or sys.executable, "-m", "bridge_bench.cli", "machine", "--machine", machine,
                           "--file", str(home / ".asv-machine.json")], env=env, capture_output=True, text=True)
    if proc.returncode:
        raise AsvError(f"bridge-bench machine could not write {home / '.asv-machine.json'}: "
                       f"{messages.last_line(proc.stderr)}")
    return env


def result_files(results_dir: Path, machine: str) -> list[Path]:
    return [p for p in estimate.result_files(results_dir) if p.parent.name == machine]
