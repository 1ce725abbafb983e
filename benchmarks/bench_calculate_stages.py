"""CalculateReceipt's CPU per stage, in process: no gRPC, no database, no noise from a client.

    python benchmarks/bench_calculate_stages.py [--rules 100,1000,10000] [--passes 5] [--card]
        [--explain]
    python benchmarks/bench_calculate_stages.py --rules 1000 --only token --loops 20

Each stage is the very function the servicer (server/api/servicers/calculate.py) calls, on
the 200 receipts bench_calculate.py sends (bench_pricing.py's synthetic chain, 20 lines):

    decode      CalculateReceiptRequest.FromString (grpc.aio's deserializer)
    edge        server/api/edge.py check_request (the interceptor's limits walk; it leaves
                the lines to the servicer's one pass)
    checks      _lines (that one pass: the edge's limits of lines and the servicer's own
                checks) and checked_receipt: store, points to pay, receipt time
    member      card_context on a member row (with --card; the database round trip is not
                here: its CPU is asyncpg's, measured by bench_calculate.py --cards)
    engine      price_receipt
    calc        calculation_of: accrual and the Calculation the token carries
    token       encode_calculation (sign the calculation_id)
    response    respond: the response message
    encode      SerializeToString (grpc.aio's serializer)
    confirm     decode_calculation: what ConfirmReceipt pays to read the token back (not a
                CalculateReceipt stage; printed because the token format decides it)
    token1, confirm1  the same with version 1 (JSON) tokens, for the before/after

CPU is this thread's CPU time (time.thread_time_ns) over a batch of all 200 receipts per
stage, best of --passes (the minimum is what the code costs when nothing else runs: the
machine is shared). Shares are of the sum of the CalculateReceipt stages, same run. For an
instruction count that load cannot move, --callgrind runs each stage alone under
valgrind --tool=callgrind at --loops batches and once with none, and divides the difference
by 200 x loops (about two minutes per stage: the setup runs under valgrind too):

    python benchmarks/bench_calculate_stages.py --rules 100 --callgrind token,token1 --loops 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "clients")]

import bench_pricing as data  # noqa: E402
from bench_calculate import requests  # noqa: E402

from server.accounts.accrual import compile_rules  # noqa: E402
from server.api.calculation_token import decode_calculation, encode_calculation  # noqa: E402
from server.api.edge import check_request  # noqa: E402
from server.api.servicers.calculate import (  # noqa: E402
    _lines,
    calculation_of,
    checked_receipt,
    price,
    respond,
)
from server.db.pricing.context import card_context  # noqa: E402
from server.errors import Violations  # noqa: E402
from server.features.pricing import PricingSnapshot  # noqa: E402
from server.receipts.calculation import encode_calculation_v1  # noqa: E402
from server.security.signing import Signer  # noqa: E402

STAGES = ("decode", "edge", "checks", "member", "engine", "calc", "token", "response",
          "encode")
EXTRA = ("confirm", "token1", "confirm1")


def member_row(rng: random.Random, now: dt.datetime) -> dict[str, Any]:
    """A member row as the context query returns it: 30 days with a purchase or two."""
    days = [(now.date() - dt.timedelta(days=d)).isoformat() for d in range(30)]
    return {
        "state": "active", "card_type": "gold", "member_id": uuid.uuid4(), "accrual_bps": 500,
        "requires_verification": False, "birth_date": dt.date(1990, 5, 1), "receipt_count": 40,
        "lifetime_amount": 1_500_000, "points_balance": 12_000,
        "purchases": json.dumps([[d, "S001", rng.randint(1000, 90000)] for d in days]),
        "items": json.dumps([[d, "S001", f"SKU{rng.randint(1, 50000):05d}", "G01"]
                             for d in days for _ in range(3)]),
        "first_uses": "{}",
    }


def stage_inputs(snap: PricingSnapshot, signer: Signer, raw: list[bytes], card: bool,
                 explain: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Each stage's arguments per receipt, made by running the pipeline once."""
    from kopilka.v1 import receipts_pb2

    now = dt.datetime.now(dt.UTC)
    rng = random.Random(7)
    out: dict[str, list[tuple[Any, ...]]] = {name: [] for name in STAGES + EXTRA}
    for body in raw:
        request = receipts_pb2.CalculateReceiptRequest.FromString(body)
        if explain:
            request.explain = True
            body = request.SerializeToString()
        lines, _ = _lines(request, snap)
        moment = checked_receipt(request, snap, request.store_code, Violations())
        row = member_row(rng, now) if card else None
        member = card_context(row) if row else None
        result = price(snap, request, request.store_code, moment, lines, member)
        calc = calculation_of(snap, request, member, request.store_code, "", "UAH", moment,
                              now, result)
        token = encode_calculation(signer, calc)
        response = respond(snap, member, calc, token, result, explain)
        out["decode"].append((body,))
        out["edge"].append((request,))
        out["checks"].append((request, snap, request.store_code))
        out["member"].append((row,))
        out["engine"].append((snap, request, request.store_code, moment, lines, member))
        out["calc"].append((snap, request, member, request.store_code, "", "UAH", moment,
                            now, result))
        out["token"].append((signer, calc))
        out["response"].append((snap, member, calc, token, result, explain))
        out["encode"].append((response,))
        out["confirm"].append((signer, token, now))
        out["token1"].append((signer, calc))
        out["confirm1"].append((signer, encode_calculation_v1(signer, calc), now))
    return out


def stage_functions() -> dict[str, Callable[..., Any]]:
    from kopilka.v1 import receipts_pb2

    return {
        "decode": receipts_pb2.CalculateReceiptRequest.FromString,
        "edge": check_request,
        "checks": lambda request, snap, store: checked_receipt(
            request, snap, store, _lines(request, snap)[1]),
        "member": lambda row: card_context(row) if row is not None else None,
        "engine": price,
        "calc": calculation_of,
        "token": encode_calculation,
        "response": respond,
        "encode": lambda response: response.SerializeToString(),
        "confirm": decode_calculation,
        "token1": encode_calculation_v1,
        "confirm1": decode_calculation,
    }


def batch_ns(fn: Callable[..., Any], inputs: list[tuple[Any, ...]]) -> int:
    began = time.thread_time_ns()
    for args in inputs:
        fn(*args)
    return time.thread_time_ns() - began


def snapshot(scenario: str, rules: int) -> PricingSnapshot:
    catalog, stores = data.make_catalog(random.Random(20250303)), data.make_stores()
    return PricingSnapshot(data.scenario_rules(scenario, rules), None, catalog, stores, (),
                           compile_rules(), None)


def instructions(args: argparse.Namespace, stage: str, loops: int) -> int:
    """Instructions valgrind counts for a run of `stage` alone, `loops` batches."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--rules", args.rules, "--scenario", args.scenario, "--only", stage,
         "--loops", str(loops)] + (["--card"] if args.card else [])
        + (["--explain"] if args.explain else []),
        capture_output=True, text=True, check=True,
        env=dict(os.environ, PYTHONHASHSEED="0")).stderr
    return int(re.findall(r"Collected : (\d+)", out)[-1])


def callgrind(args: argparse.Namespace) -> int:
    base = instructions(args, args.callgrind[0], 0)
    print(f"instructions per call (valgrind callgrind, {args.rules} rules, {args.loops} "
          f"batches of 200 receipts minus a run with none)")
    for stage in args.callgrind:
        count = instructions(args, stage, args.loops) - base
        print(f"{stage:>10} {count / (200 * args.loops):>12,.0f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="100,1000,10000")
    parser.add_argument("--scenario", default="chain", choices=["chain", "constant", "uniform"])
    parser.add_argument("--passes", type=int, default=5, help="best of this many batches")
    parser.add_argument("--card", action="store_true",
                        help="every receipt presents a member's card (member stage)")
    parser.add_argument("--explain", action="store_true",
                        help="every request asks for the discounts' names and reason texts")
    parser.add_argument("--only", choices=STAGES + EXTRA,
                        help="run this stage alone, --loops batches, print nothing else "
                        "(for valgrind --tool=callgrind instruction counts)")
    parser.add_argument("--loops", type=int, default=10)
    parser.add_argument("--callgrind", type=lambda s: s.split(","),
                        help="stages to count instructions of under valgrind (one --rules "
                        "size): a run with --loops 0 and one per stage; deterministic")
    args = parser.parse_args()
    if args.callgrind:
        return callgrind(args)

    from kopilka.v1 import receipts_pb2

    signer = Signer(b"bench-secret-" * 4)
    raw = [x.SerializeToString() for x in requests(20250303)]
    functions = stage_functions()
    for count in [int(x) for x in args.rules.split(",")]:
        snap = snapshot(args.scenario, count)
        inputs = stage_inputs(snap, signer, raw, args.card, args.explain)
        if args.only:
            for _ in range(args.loops):
                batch_ns(functions[args.only], inputs[args.only])
            continue
        best = {name: min(batch_ns(functions[name], inputs[name]) for _ in range(args.passes))
                / len(raw) / 1000 for name in STAGES + EXTRA}
        total = sum(best[name] for name in STAGES)
        if count == int(args.rules.split(",")[0]):
            token = encode_calculation(*inputs["token"][0])
            sizes = [len(encode_calculation(*x)) for x in inputs["token"]]
            old = [len(encode_calculation_v1(*x)) for x in inputs["token"]]
            response = receipts_pb2.CalculateReceiptResponse.FromString(
                inputs["encode"][0][0].SerializeToString())
            print(f"200 receipts of 20 lines{', each with a card' if args.card else ''}"
                  f"{', explained' if args.explain else ''}; "
                  f"us of CPU per call (best of {args.passes} batches); calculation_id "
                  f"{min(sizes)}-{max(sizes)} chars (mean {sum(sizes) / len(sizes):.0f}; version 1 "
                  f"JSON: mean {sum(old) / len(old):.0f}), "
                  f"starts {token[:12]!r}; response {response.ByteSize()} bytes")
            print(f"{'rules':>6} " + " ".join(f"{name:>8}" for name in STAGES)
                  + f" {'total':>8} | {'confirm':>8} {'token1':>8} {'confirm1':>8}")
        print(f"{count:>6} " + " ".join(f"{best[name]:>8.1f}" for name in STAGES)
              + f" {total:>8.1f} | {best['confirm']:>8.1f} {best['token1']:>8.1f} "
              f"{best['confirm1']:>8.1f}")
        print(f"{'share':>6} " + " ".join(f"{best[name] / total:>7.0%} " for name in STAGES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
