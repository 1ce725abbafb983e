"""The transport's floor for CalculateReceipt (benchmarks only; docs/performance.md).

On PYTHONPATH of a benchmark's server (`PYTHONPATH=benchmarks/floor
KOPILKA_BENCH_CACHED_ANSWER=1 python benchmarks/bench_calculate.py ...`: the benchmark
passes its environment to `kopilka serve`), CalculateReceipt prices its first request and
then answers every call with that same response: the same port, interceptor, key check,
edge check, decoding of the 20-line request and encoding of a 1.8 KB answer, and none of the
servicer's work. Its ratio to Echo is what the transport leaves for the work.
"""

from __future__ import annotations

import os
from typing import Any

if os.environ.get("KOPILKA_BENCH_CACHED_ANSWER"):
    from server.api.servicers import calculate

    _priced = calculate.CalculateReceiptMixin.CalculateReceipt
    _first: list[Any] = []

    async def _cached(self: Any, request: Any, context: Any) -> Any:
        if not _first:
            _first.append(await _priced(self, request, context))
        return _first[0]

    calculate.CalculateReceiptMixin.CalculateReceipt = _cached  # type: ignore[method-assign]
