"""A path's bound call timed without asv, in plain `timeit` loops: what `bridge-bench noise
--tight-loop` holds asv's figures against (bridge_bench.drive.fidelity.tight_loops).

`python -m bridge_bench.measure.tightloop PATH_ID...` prints one JSON line per path,
{"path": ..., "seconds": ...}, seconds null where the path cannot run here. It runs as a fresh
interpreter that imports only what measuring needs (no pandas, no results), because its children
fork from it as asv's benchmark processes fork from a bare one (`fidelity.tight_loops` says why).
"""

from __future__ import annotations

import json
import sys
import time
import timeit

from bridge_bench import estimate, inputs
from bridge_bench.measure import child, plan, process

#: Fresh children per path: as many as a case's looks, since asv's figure is a median over looks.
PROCESSES = plan.LOOKS
#: Seconds between two children, so a slow spell does not cover every one.
GAP_S = 0.5


def tight_loop(path_id: str, size: int = 8, processes: int = PROCESSES, loops: int = 20,
               calls: int = 2_000) -> float:
    """Seconds per call of a path's bound call without asv, read as asv's figure is read.

    One process has one memory layout, and asv's figure is a median over many (one per look), so
    a loop in this process alone says little: in each of `processes` fresh children, a random
    layout each and half a second apart, the fastest of `loops` plain `timeit` loops, each
    1-10 ms (on a noisy day, slow spells reached every one of five 10,000-call loops of
    `torch.Tensor(a)`, 54 ms each, and read it 1.29x); over the children, the published estimate.
    """
    from bridge_bench.measure import bindings

    def one() -> float:
        layout = process.randomize_layout()  # noqa: F841 - kept alive while timing
        call = bindings.prepare(path_id, inputs.Case(size))
        call()
        return min(timeit.Timer(call).repeat(loops, calls)) / calls

    per_process = []
    for _ in range(processes):
        per_process.append(child.in_child(one))
        time.sleep(GAP_S)
    return estimate.published(per_process)


def main(argv: list[str] | None = None) -> None:
    """One JSON line per path id of `argv`, flushed as each is measured."""
    for pid in sys.argv[1:] if argv is None else argv:
        try:
            seconds = tight_loop(pid)
        except NotImplementedError:
            seconds = None
        print(json.dumps({"path": pid, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
