"""`kopilka certificates activate --scanner DEVICE`: sell a pack of plastic certificates by
scanning them.

The scanner is opened through the barcode plugin (its framing, check digits and settings in
the ``barcode`` plugin section; the port is DEVICE). Each scan goes through the one
activation path the RPC uses (server/api/servicers/certificates.activate_once): idempotent
on a request id derived from the number and the store, so a re-scan (or a second pass over
the same pack) changes nothing; audited as the CLI user. The run ends after --count scans,
after --idle-seconds without a scan, or on Ctrl-C; the summary is printed in every case.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from server.certificates.numbers import masked
from server.commands._shared import NAMESPACE, cli_principal_id
from server.settings import Settings

if TYPE_CHECKING:
    from server.db.database import Database
    from server.plugin_contracts import Scan, ScannerSource

ALREADY = "already active"
OPEN_TIMEOUT = 10.0  # seconds: the device was there a moment ago


def request_id_for(number: str, store: str) -> str:
    """The same number scanned for the same store is the same request."""
    return str(uuid.uuid5(NAMESPACE, f"certificate-activation:{number}:{store}"))


@dataclass
class Summary:
    """What the run did, per outcome; face values in minor units per currency."""

    activated: int = 0
    already: int = 0
    unknown: int = 0
    misreads: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    activated_minor: Counter[str] = field(default_factory=Counter)
    already_minor: Counter[str] = field(default_factory=Counter)

    @property
    def scans(self) -> int:
        return self.activated + self.already + self.unknown + sum(self.refused.values())

    def lines(self) -> list[str]:
        def money(totals: Counter[str]) -> str:
            return ", ".join(f"{v} {c}" for c, v in sorted(totals.items())) or "0"

        out = [f"kopilka: {self.scans} scans",
               f"  activated:      {self.activated} (face value {money(self.activated_minor)}"
               " minor units)",
               f"  already active: {self.already} (face value {money(self.already_minor)}"
               " minor units)",
               f"  unknown:        {self.unknown}",
               f"  refused:        {sum(self.refused.values())}"]
        out += [f"    {reason}: {n}" for reason, n in sorted(self.refused.items())]
        if self.misreads:
            out.append(f"  misreads dropped by the scanner (bad check digit): {self.misreads}")
        return out


def register(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    activate = cmds.add_parser(
        "activate", help="activate a pack of plastic certificates by scanning them")
    activate.add_argument("--scanner", required=True, metavar="DEVICE",
                          help="serial device of the scanner, e.g. /dev/ttyACM0")
    activate.add_argument("--store", default="", metavar="CODE",
                          help="store that sells them (default: the certificate's store)")
    activate.add_argument("--count", type=int, default=0, metavar="N",
                          help="stop after N scans (default: no limit)")
    activate.add_argument("--idle-seconds", type=float, default=0.0, metavar="S",
                          help="stop after S seconds without a scan (default: never)")
    activate.set_defaults(func=cmd_activate)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def device_problem(device: str) -> str | None:
    """What is wrong with DEVICE, said as what to do next; None if it can be opened."""
    if "://" in device:  # a pyserial URL (loop://, socket://...): pyserial checks it
        return None
    if not os.path.exists(device):
        return (f"kopilka: scanner device {device} not found: plug the scanner in, check "
                "`ls /dev/serial/by-id/` (or dmesg) and pass that path to --scanner")
    try:
        os.close(os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK))
    except PermissionError:
        return (f"kopilka: permission denied on {device}: add your user to its group "
                f"(`sudo usermod -aG $(stat -c %G {device}) $USER`, usually dialout), log "
                "in again, and retry")
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            return f"kopilka: {device} is busy: close the program that holds it and retry"
        return f"kopilka: cannot open {device} ({exc.strerror}): check the device and retry"
    return None


def open_scanner(settings: Settings, device: str) -> ScannerSource:
    """The barcode plugin's scanner on DEVICE, with the framing of its settings section."""
    from server.plugin_host import PluginHost, build_plugin_manager

    section: dict[str, Any] = dict(settings.plugin_settings.get("barcode", {}))
    section.pop("scanners", None)
    section.update(port=device, name="certificates")
    sources = PluginHost(build_plugin_manager(), {"barcode": section}).scanner_sources()
    if "certificates" not in sources:
        raise LookupError("the barcode plugin is not installed or is disabled "
                          "(KOPILKA_DISABLED_PLUGINS): enable it and retry")
    return sources["certificates"]


def cmd_activate(settings: Settings, args: argparse.Namespace) -> int:
    from server.commands._shared import with_database

    if args.count < 0 or args.idle_seconds < 0:
        _say("kopilka: --count and --idle-seconds must not be negative")
        return 2
    problem = device_problem(args.scanner)
    if problem:
        _say(problem)
        return 2
    try:
        source = open_scanner(settings, args.scanner)
    except (LookupError, ValueError) as exc:
        _say(f"kopilka: {exc}")
        return 2

    async def work(db: Database) -> int:
        summary = Summary()
        try:
            await scan_pack(db, source, args, summary)
        finally:
            await source.close()
            for line in summary.lines():
                _say(line)
        return 0

    try:
        return with_database(settings, work)
    except KeyboardInterrupt:  # Ctrl-C outside the loop's handler: summary already printed
        return 130


async def scan_pack(db: Database, source: ScannerSource, args: argparse.Namespace,
                    summary: Summary) -> None:
    """Activate each scan until --count, --idle-seconds or Ctrl-C."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(RuntimeError, ValueError, NotImplementedError):
        loop.add_signal_handler(signal.SIGINT, stop.set)  # main thread only
    try:
        opener = getattr(source, "open", None)  # the barcode plugin opens lazily otherwise
        if opener is not None:
            try:
                await asyncio.wait_for(opener(), OPEN_TIMEOUT)
            except TimeoutError:
                _say(f"kopilka: cannot open {args.scanner}: check the device and retry")
                return
        _say(f"kopilka: ready, scan the certificates ({masked_hint(args)})")
        async with contextlib.aclosing(_until_stopped(source, stop, args.idle_seconds)) as scans:
            async for scan in scans:
                _count_misreads(source, summary)
                await _activate_one(db, scan, args.store, summary)
                if args.count and summary.scans >= args.count:
                    break
        _count_misreads(source, summary)
    finally:
        with contextlib.suppress(RuntimeError, ValueError, NotImplementedError):
            loop.remove_signal_handler(signal.SIGINT)


def masked_hint(args: argparse.Namespace) -> str:
    ends = []
    if args.count:
        ends.append(f"stops after {args.count}")
    if args.idle_seconds:
        ends.append(f"after {args.idle_seconds:g}s idle")
    ends.append("Ctrl-C to finish")
    return ", ".join(ends)


def _count_misreads(source: ScannerSource, summary: Summary) -> None:
    """The barcode plugin drops codes with a bad check digit and counts them."""
    decoder = getattr(source, "decoder", None)
    rejected = int(getattr(decoder, "rejected", 0))
    if rejected > summary.misreads:
        for _ in range(rejected - summary.misreads):
            _say("kopilka: misread (bad check digit): scan that certificate again")
        summary.misreads = rejected


async def _until_stopped(source: ScannerSource, stop: asyncio.Event,
                         idle_seconds: float) -> AsyncGenerator[Scan, None]:
    """The source's scans until `stop` is set or none came for `idle_seconds` (0: never)."""
    scans = aiter(source.scans())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            following = asyncio.ensure_future(anext(scans))
            done, _ = await asyncio.wait({following, stopping}, return_when=asyncio.FIRST_COMPLETED,
                                         timeout=idle_seconds or None)
            if following not in done:
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await following
                if not done:
                    _say(f"kopilka: no scan for {idle_seconds:g}s, finishing")
                return
            try:
                yield following.result()
            except StopAsyncIteration:
                return
    finally:
        stopping.cancel()


async def _activate_one(db: Database, scan: Scan, store: str, summary: Summary) -> None:
    from kopilka.v1 import certificates_pb2 as pb

    from server.api.servicers.certificates import activate_once
    from server.audit.actor import acting, cli_actor
    from server.errors import DomainError

    actor = cli_actor()
    number = scan.code.strip().upper()
    request = pb.ActivateCertificateRequest(
        request_id=request_id_for(number, store), number=number, store_code=store)

    async def store_of(session: Any) -> str:
        return store or await _issuing_store(session, number)

    started_us = time.time_ns() // 1000
    try:
        with acting(actor):
            reply = await activate_once(db, request, store_of, principal=actor.label,
                                        principal_id=cli_principal_id(actor.label))
    except DomainError as exc:
        await _refused(db, number, exc, summary)
        return
    cert = reply.certificate
    currency, face = cert.denomination.currency, cert.denomination.amount_minor
    if cert.activate_time.ToMicroseconds() < started_us:  # the answer of an earlier scan
        summary.already += 1
        summary.already_minor[currency] += face
        _say(f"kopilka: {masked(number)} {ALREADY} ({face} {currency})")
    else:
        summary.activated += 1
        summary.activated_minor[currency] += face
        _say(f"kopilka: {masked(number)} activated ({face} {currency})")


async def _issuing_store(session: Any, number: str) -> str:
    """Without --store a certificate is sold by the store that issued it."""
    from server.db.certificates.repo import SqlCertificateRepository
    from server.errors import invalid

    cert = await SqlCertificateRepository(session).certificate(number)
    if cert is not None and cert.store_code:
        return cert.store_code
    if cert is None:
        return ""  # the activation refuses it as unknown
    raise invalid("store_code", "the certificate has no store: pass --store CODE")


async def _refused(db: Database, number: str, exc: Any, summary: Summary) -> None:
    """Sort a refusal: unknown, already active (sold elsewhere), or refused with its reason."""
    from server.certificates.model import CertificateState
    from server.db.certificates.repo import SqlCertificateRepository

    if exc.reason == "CERTIFICATE_NOT_FOUND":
        summary.unknown += 1
        _say(f"kopilka: {masked(number)} unknown: not a certificate of this database")
        return
    if exc.reason == "CERTIFICATE_STATE_TRANSITION_INVALID":
        async with db.transaction() as session:
            cert = await SqlCertificateRepository(session).certificate(number)
        if cert is not None and cert.state == CertificateState.ACTIVE:
            summary.already += 1
            summary.already_minor[cert.currency] += cert.denomination_minor
            _say(f"kopilka: {masked(number)} {ALREADY} ({cert.denomination_minor} "
                 f"{cert.currency})")
            return
    summary.refused[exc.reason] += 1
    message = str(exc.message).replace(number, masked(number))
    _say(f"kopilka: {masked(number)} refused: {exc.reason}: {message}")
