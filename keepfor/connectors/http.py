"""Sending a request to a CRM's API the way every CRM source does: a 429 waited out as its
``Retry-After`` says (at most :data:`MOST_WAIT` seconds, a bounded number of times), a
5xx or a timeout retried with exponential backoff, a bounded number of times, and any
other failure to answer as one :class:`SourceError` line. The token is in the client's
headers only: never in a message, nor logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from keepfor.errors import SourceError

__all__ = ["MOST_WAIT", "Retry", "retry_after", "send"]

log = logging.getLogger("keepfor.http")

MOST_WAIT = 60.0
"""The longest ``Retry-After`` honoured; a longer one is an error."""


class Retry:
    """How often and how long to retry: ``attempts`` for 5xx and timeouts, backoff from
    ``backoff`` seconds doubling to ``most``; ``rate_attempts`` for 429s."""

    def __init__(
        self,
        attempts: int = 5,
        backoff: float = 0.5,
        most: float = 8.0,
        rate_attempts: int = 10,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts = attempts
        self.backoff = backoff
        self.most = most
        self.rate_attempts = rate_attempts
        self.sleep = sleep

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failure in a row."""
        return float(min(self.most, self.backoff * 2 ** (failures - 1)))


def send(
    http: httpx.Client,
    method: str,
    path: str,
    *,
    retry: Retry,
    error: Callable[[str], SourceError],
    detail: Callable[[httpx.Response], str],
    where: str,
    **kwargs: Any,
) -> httpx.Response:
    """The response, after waiting out 429s and retrying 5xx and timeouts; ``error``
    makes the one line (naming the source and server), ``detail`` the server's reason."""
    failures = limited = 0
    while True:
        try:
            response = http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            failures += 1
            if failures >= retry.attempts:
                raise error(f"{method} {path} timed out {failures} times") from None
            _wait(retry, retry.delay(failures), f"{where}: {method} {path} timed out")
            continue
        except httpx.HTTPError as failed:
            raise error(f"does not answer ({type(failed).__name__}: {failed})") from None
        if response.status_code == 429:
            limited += 1
            wait = retry_after(response)
            if limited >= retry.rate_attempts or wait > MOST_WAIT:
                raise error(
                    f"kept refusing {method} {path} as over its rate limit (HTTP 429, "
                    f"{limited} times, Retry-After {wait:g} s)"
                )
            _wait(retry, wait, f"{where}: {method} {path}: rate limited (429)")
            continue
        if response.status_code >= 500:
            failures += 1
            if failures >= retry.attempts:
                raise error(
                    f"answered HTTP {response.status_code} to {method} {path} "
                    f"{failures} times{detail(response)}"
                )
            why = f"{where}: {method} {path}: HTTP {response.status_code}"
            _wait(retry, retry.delay(failures), why)
            continue
        return response


def _wait(retry: Retry, seconds: float, why: str) -> None:
    log.info("%s; retrying in %.1f s", why, seconds)
    retry.sleep(seconds)


def retry_after(response: httpx.Response) -> float:
    """The seconds ``Retry-After`` asks for (1 where it gives none or no number)."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0
