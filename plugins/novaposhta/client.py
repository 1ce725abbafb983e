"""JSON client for Nova Poshta API 2.0 with bounded, backed-off retries.

Every call is ``POST {apiKey, modelName, calledMethod, methodProperties}``; the answer
is HTTP 200 with ``success``, ``data``, ``errors``, ``warnings`` (and ``errorCodes``).
``success: false`` is a permanent refusal and raises at once. Transient failures are
retried: for *safe* calls (reads, idempotent saves) on any network error, timeout,
HTTP 429 or 5xx; for *unsafe* calls (creating a waybill) only when the request surely
was not processed (connection refused, HTTP 429 or 503), so a lost answer can never
create a second waybill.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

Sleep = Callable[[float], Awaitable[None]]

_NOT_PROCESSED = {429, 503}  # the server says it did not take the request


class NovaPoshtaError(RuntimeError):
    """Nova Poshta refused a call (``errors``/``codes`` from the answer) or is unreachable.

    ``retryable`` is true when retries ran out on a transient failure: asking later may
    succeed. A refusal (``success: false``) is not retryable.
    """

    def __init__(self, message: str, *, errors: tuple[str, ...] = (),
                 codes: tuple[str, ...] = (), retryable: bool = False) -> None:
        super().__init__(message)
        self.errors = errors
        self.codes = codes
        self.retryable = retryable


class _Transient(Exception):
    def __init__(self, reason: str, *, processed: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.processed = processed  # the server may have acted on the request
        self.retry_after = retry_after


class NovaPoshtaClient:
    """Calls one API endpoint with one key; a fresh HTTP session per call."""

    def __init__(self, api_url: str, api_key: str, *, timeout: float, retries: int,
                 backoff: float, backoff_max: float, sleep: Sleep = asyncio.sleep) -> None:
        self.api_url = api_url
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._sleep = sleep

    async def call(self, model: str, method: str, properties: Mapping[str, Any], *,
                   safe: bool = True) -> list[Any]:
        """Return the answer's ``data`` list; raise ``NovaPoshtaError`` otherwise."""
        payload = {"apiKey": self.api_key, "modelName": model, "calledMethod": method,
                   "methodProperties": dict(properties)}
        attempt = 0
        while True:
            try:
                answer = await self._post(payload)
                break
            except _Transient as exc:
                if attempt >= self.retries or (exc.processed and not safe):
                    raise NovaPoshtaError(
                        f"{model}.{method}: {exc} (after {attempt + 1} attempts)",
                        retryable=True) from exc
                await self._sleep(self._delay(attempt, exc.retry_after))
                attempt += 1
        return _data_of(model, method, answer)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        doubling: int = 2**attempt  # attempt >= 0, so an int
        delay = min(self.backoff * doubling, self.backoff_max)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max))
        return delay

    async def _post(self, payload: Mapping[str, Any]) -> Any:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with (aiohttp.ClientSession(timeout=timeout) as session,
                        session.post(self.api_url, json=payload) as response):
                if response.status != 200:
                    raise _Transient(f"HTTP {response.status}",
                                     processed=response.status not in _NOT_PROCESSED,
                                     retry_after=_retry_after(response.headers))
                try:
                    return await response.json(content_type=None)
                except ValueError as exc:
                    raise _Transient(f"invalid JSON: {exc}", processed=True) from exc
        except aiohttp.ClientConnectorError as exc:  # never reached the server
            raise _Transient(f"unreachable: {exc}", processed=False) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Transient(f"network failure: {exc!r}", processed=True) from exc


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return max(0.0, float(headers["Retry-After"]))
    except (KeyError, ValueError):
        return None


def _data_of(model: str, method: str, answer: Any) -> list[Any]:
    if not isinstance(answer, dict):
        raise NovaPoshtaError(f"{model}.{method}: the answer is not a JSON object")
    if answer.get("success") is not True:
        errors = tuple(str(e) for e in answer.get("errors") or ())
        codes = tuple(str(c) for c in answer.get("errorCodes") or ())
        raise NovaPoshtaError(f"{model}.{method} refused: {'; '.join(errors) or 'no reason'}"
                              + (f" (codes {', '.join(codes)})" if codes else ""),
                              errors=errors, codes=codes)
    data = answer.get("data")
    if not isinstance(data, list):
        raise NovaPoshtaError(f"{model}.{method}: the answer has no data list")
    return data
