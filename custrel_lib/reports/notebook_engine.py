"""The papermill engine of report runs: papermill's own, writing the executed notebook less often.

papermill's engine writes the whole executed notebook at the start and at the end of every cell, for someone
watching the file. The report's engine writes it when the notebook starts and ends, and notes the running cell
in a small file (:func:`running_file`) that the diagnosis of a killed run reads.
"""

from __future__ import annotations

from pathlib import Path

ENGINE = "custrel"
_registered = False


def register_engine() -> str:
    """Register (once) the papermill engine of report runs, :data:`ENGINE`, and return its name.

    papermill's engine, except that it writes the executed notebook when it starts, when it ends (also when a
    cell failed or the kernel died) and every ``autosave_cell_every`` seconds within a long cell, not at each
    cell's start and end: each write copies, validates and serialises the notebook with all its outputs so far
    (benchmarks/README.md has what that cost on the sample). At each cell's start it notes the cell's number in :func:`running_file` instead. It also records the source
    notebook's path as ``input_path`` (the run gives papermill a notebook object, which papermill would copy
    whole into that field).
    """
    global _registered
    if _registered:
        return ENGINE
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class Manager(NotebookExecutionManager):
        running: Path | None = None
        quiet = False

        def save(self, **kwargs):
            if not self.quiet:
                super().save(**kwargs)

        def _quietly(self, step, *args, **kwargs):
            self.quiet = True
            try:
                step(*args, **kwargs)
            finally:
                self.quiet = False

        def cell_start(self, cell, cell_index=None, **kwargs):
            if self.running is not None and cell_index is not None:
                self.running.write_text(str(cell_index), encoding="utf-8")
            self._quietly(super().cell_start, cell, cell_index, **kwargs)

        def cell_complete(self, cell, cell_index=None, **kwargs):
            self._quietly(super().cell_complete, cell, cell_index, **kwargs)

    class Engine(NBClientEngine):
        @classmethod
        def execute_notebook(
            cls,
            nb,
            kernel_name,
            output_path=None,
            progress_bar=True,
            log_output=False,
            autosave_cell_every=30,
            source_path=None,
            running=None,
            **kwargs,
        ):
            # papermill's Engine.execute_notebook (papermill 2.7), with the manager above.
            if source_path is not None:
                nb.metadata.setdefault("papermill", {})["input_path"] = str(source_path)
            nb_man = Manager(
                nb,
                output_path=output_path,
                progress_bar=progress_bar,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
            )
            nb_man.running = running
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register(ENGINE, Engine)
    _registered = True
    return ENGINE


def running_file(log: Path) -> Path:
    """The small file where a notebook's run notes the cell it starts (next to the kernel's log)."""
    return log.with_name(f"{log.stem}.cell")
