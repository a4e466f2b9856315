"""In-process wake-ups: log streams learn of new lines, the scheduler of new work, without polling."""

from __future__ import annotations

import asyncio
import contextlib


class JobSignals:
    """One asyncio.Event per watched job, set (and replaced) whenever the job gets new lines or ends.

    Take a ticket *before* reading the database, then wait on it: a line stored in between
    sets that ticket, so no wake-up is lost.
    """

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def ticket(self, job_id: str) -> asyncio.Event:
        """The event the next ``notify(job_id)`` will set."""
        return self._events.setdefault(job_id, asyncio.Event())

    def notify(self, job_id: str) -> None:
        """Wake everyone waiting on ``job_id``."""
        event = self._events.pop(job_id, None)
        if event is not None:
            event.set()

    @staticmethod
    async def wait(ticket: asyncio.Event, timeout_s: float) -> bool:
        """Wait until ``ticket`` is set or ``timeout_s`` passes; True when it was set."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ticket.wait(), timeout_s)
        return ticket.is_set()
