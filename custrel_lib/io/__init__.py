"""Reading the user's files: the data contract, readers, loading with checks, the problems report, the synthetic sample."""
