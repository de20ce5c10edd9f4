"""Plotly figures. Every function returns a ``go.Figure`` and never shows it."""
