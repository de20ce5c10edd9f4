"""Reports: running the notebooks (papermill), the index and manifest, HTML export, the executive summary's figures."""
