"""Real workloads: job definitions (spec), encryption (seal), results (results), data (data)."""
