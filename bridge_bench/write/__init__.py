"""What writes reports: tables, plots, the HTML report and the releases report, from what
bridge_bench.read gives. Runs where torch is not installed."""
