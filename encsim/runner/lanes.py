"""Parts of a file computed in parallel lanes and handed to the caller in order (issue 19).

A `.h5` output is made of parts (half chunks): each is generated and flown with the logic, then
written. `Lanes` computes the parts in worker threads, one Numba thread each, while the caller
writes the finished ones in part order. Two lanes on a two-core machine keep both cores busy with
whole parts, the Python between kernels included; a single part's parallel kernels would leave a
core idle whenever Python runs between them, and a chunk finished behind the next one's generation
left one idle whenever the two did not take the same time. Every kernel of generation and of the
closed loop releases the interpreter (``nogil=True``), so lanes overlap in their kernels.

A part is the same whatever else is computed beside it (every encounter draws from streams of its
own), and the caller writes the parts in their order, so the file receives exactly the rows of the
serial order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

#: how often (s) the waiting caller reports the lanes' progress
_PROGRESS_EVERY_S = 0.2


class Lanes:
    """Compute ``make(i, report)`` for parts ``i = 0 .. n_parts - 1`` in ``n_lanes`` threads; iterate
    over the results in part order.

    ``report(n)`` (called by ``make`` from its lane) counts progress; the caller's ``progress(n)``
    receives it in the caller's thread, while it waits for a part and before each part is handed
    over. At most ``n_lanes + 1`` parts are computed or held ahead of the one the caller takes, so
    memory stays flat however many parts there are. An error of a part is raised in the caller
    when its turn comes, after every earlier part was handed over: the order of errors is the
    serial one. Leaving the ``with`` block early (an error, an interrupt, a ``break``) lets each
    lane finish the part it is computing (a kernel cannot be stopped) and start no other; the
    block's end waits for them, and a second interrupt stops that wait (the lanes are daemons).
    """

    def __init__(self, make: Callable, n_parts: int, n_lanes: int, *, progress: Callable | None = None):
        self._make = make
        self._n_parts = n_parts
        self._ahead = n_lanes + 1
        self._progress = progress
        self._changed = threading.Condition()
        self._next = 0  # the next part a lane takes
        self._handed = 0  # parts handed to the caller
        self._finished: dict = {}  # part -> (result, error)
        self._reported = 0  # progress not yet passed to the caller
        self._stop = False
        self._threads = [
            threading.Thread(target=self._lane, name=f"encsim-lane-{k}", daemon=True) for k in range(max(1, n_lanes))
        ]

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        with self._changed:
            self._stop = True
            self._changed.notify_all()
        for thread in self._threads:
            thread.join()
        return False

    def __iter__(self) -> Iterator:
        for part in range(self._n_parts):
            result, error = self._take(part)
            if error is not None:
                raise error
            yield result

    def _take(self, part: int):
        """Wait for ``part``, reporting progress meanwhile; hand it over and let the lanes go on."""
        while True:
            with self._changed:
                if part not in self._finished:
                    self._changed.wait(_PROGRESS_EVERY_S)
                done = part in self._finished
                if done:
                    outcome = self._finished.pop(part)
                    self._handed = part + 1
                    self._changed.notify_all()
                reported, self._reported = self._reported, 0
            if reported and self._progress is not None:
                self._progress(reported)
            if done:
                return outcome

    def _report(self, n: int) -> None:
        with self._changed:
            self._reported += n

    def _lane(self) -> None:
        import numba

        numba.set_num_threads(1)  # this thread's own count: the lanes share the cores
        while True:
            with self._changed:
                while not self._stop and self._next < self._n_parts and self._next >= self._handed + self._ahead:
                    self._changed.wait()
                if self._stop or self._next >= self._n_parts:
                    return
                part = self._next
                self._next += 1
            try:
                outcome = (self._make(part, self._report), None)
            except BaseException as exc:  # raised in the caller when this part's turn comes
                outcome = (None, exc)
            with self._changed:
                self._finished[part] = outcome
                self._changed.notify_all()
