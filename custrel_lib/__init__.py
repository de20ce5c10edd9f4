"""custrel: a notebook workbench for customer-experience researchers."""

__version__ = "0.1.0"

__all__ = ["__version__"]
