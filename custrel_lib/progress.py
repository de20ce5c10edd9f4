"""Progress bars for long steps (loading, stages, fits): tqdm in the terminal and in notebooks, or nothing."""

from __future__ import annotations

from collections.abc import Sequence


class Steps:
    """A bar over named steps: ``done()`` after each; silent when ``enabled`` is false.

    ``tqdm.auto`` picks the notebook widget in Jupyter and the text bar in a terminal; the bar goes to stderr.
    """

    def __init__(self, labels: Sequence[str], desc: str, enabled: bool = True):
        self.labels, self.i = list(labels), 0
        self.bar = None
        if enabled and self.labels:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(self.labels), desc=desc, unit="step", leave=False)
            self.bar.set_postfix_str(self.labels[0])

    def done(self) -> None:
        self.i += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.i < len(self.labels):
                self.bar.set_postfix_str(self.labels[self.i])

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
