"""What reads results: asv's result files into frames, the published figures, the gate's rules,
the noise of identical runs and the nightly window. Runs where torch is not installed."""
