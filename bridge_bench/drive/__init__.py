"""What drives asv: the round loop, runs and paired runs, the sweep across torch releases, the
GPU check and the fidelity check. Imports no torch itself; its benchmark processes do."""
