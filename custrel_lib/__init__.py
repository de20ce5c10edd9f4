"""custrel: a notebook workbench for CX researchers."""
