"""Relationship stages: the typology, per-snapshot features, the rules, the stage model and the data-driven segments."""
