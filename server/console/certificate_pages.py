"""The console's gift certificates: find one with its entries, block or reissue it, issue a
batch (shown, or as CSV), and the usage report, each through the CertificateService RPCs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from aiohttp import web
from kopilka.v1 import certificates_pb2

from server.console import lists
from server.console.common import PREFIX, PRINCIPAL, C, csv_response

if TYPE_CHECKING:
    from server.console.web import Console


class CertificatePages:
    """The handlers; `add_routes` puts them on the console's application."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.door = console.door
        self.deps = console.deps

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get("/certificates", self.certificate)
        router.add_post("/certificates", self.issue_batch)
        router.add_post("/certificates/{number}/{action}", self.certificate_action)
        router.add_get("/certificates-usage", self.certificate_usage)

    async def certificate(self, request: web.Request) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        number = request.query.get("number", "").strip()[:32]
        found: dict[str, str] = {}
        entries: tuple[list[str], list[dict[str, str]]] = ([], [])
        if number:
            answer = await self.door.call(who, C + "GetCertificate",
                                          certificates_pb2.GetCertificateRequest(number=number),
                                          certificates_pb2.GetCertificateResponse)
            _, rows = lists.table([answer.certificate])
            found = rows[0] if rows else {}
            entries = lists.table(answer.entries)
        return self.console.render(request, "certificate.html", number=number, found=found,
                           entries=entries, request_id=str(uuid.uuid4()),
                           can_manage=self.door.allowed_rpc(who, C + "BlockCertificate"),
                           can_issue=self.door.allowed_rpc(who, C + "IssueCertificate"))

    async def issue_batch(self, request: web.Request) -> web.StreamResponse:
        """A batch of certificates (IssueCertificate with a count): shown, or as CSV."""
        who = await self.console.signed_in(request)
        form = await self.console.form(request)

        def number(name: str) -> int:
            try:
                return int(form.get(name, ""))
            except ValueError:
                return 0  # IssueCertificate names the field

        answer = await self.door.call(who, C + "IssueCertificate",
                                      certificates_pb2.IssueCertificateRequest(
                                          request_id=form.get("request_id", ""),
                                          certificate_type=form.get("certificate_type", ""),
                                          count=number("count"),
                                          store_code=form.get("store_code", ""),
                                          denomination_minor=number("denomination_minor")),
                                      certificates_pb2.IssueCertificateResponse)
        columns, rows = lists.table(answer.certificates)
        if form.get("format") == "csv":
            return csv_response("certificates.csv", columns, rows)
        page = lists.ListPage("certificates", C + "IssueCertificate",
                              certificates_pb2.IssueCertificateRequest,
                              certificates_pb2.IssueCertificateResponse, "certificates",
                              "program")
        return self.console.render(request, "list.html", name="batch", page=page, filters=[],
                           columns=columns, rows=rows, next_token="", keep={},
                           request_id="", row_form=[])

    async def certificate_action(self, request: web.Request) -> web.StreamResponse:
        await self.console.signed_in(request)
        form = await self.console.form(request)
        number, action = request.match_info["number"], request.match_info["action"]
        fields = {"request_id": form.get("request_id", ""), "number": number,
                  "reason": form.get("reason", "")}
        if action == "block":
            await self.door.call(request[PRINCIPAL], C + "BlockCertificate",
                                 certificates_pb2.BlockCertificateRequest(**fields),
                                 certificates_pb2.BlockCertificateResponse)
            raise web.HTTPSeeOther(f"{PREFIX}/certificates?number={number}")
        if action == "reissue":
            answer = await self.door.call(request[PRINCIPAL], C + "ReissueCertificate",
                                          certificates_pb2.ReissueCertificateRequest(**fields),
                                          certificates_pb2.ReissueCertificateResponse)
            raise web.HTTPSeeOther(
                f"{PREFIX}/certificates?number={answer.new_certificate.number}")
        raise web.HTTPNotFound()

    async def certificate_usage(self, request: web.Request) -> web.StreamResponse:
        who = await self.console.signed_in(request)
        page = lists.ListPage("certificate_usage", C + "GetCertificateUsageReport",
                              certificates_pb2.GetCertificateUsageReportRequest,
                              certificates_pb2.GetCertificateUsageReportResponse, "rows",
                              "program")
        query = dict(request.query)
        today = self.deps.clock().date()  # the report needs a period: the last 30 days
        query.setdefault("from_time", (today - dt.timedelta(days=30)).isoformat())
        query.setdefault("to_time", today.isoformat())
        message, filters = lists.build_request(page, query)
        answer = await self.door.call(who, page.method, message, page.response)
        columns, rows = lists.table(getattr(answer, page.rows))
        if query.get("format") == "csv":
            return csv_response("certificate-usage.csv", columns, rows)
        keep = {k: v for k, v in query.items() if v}
        return self.console.render(request, "list.html", name="certificates-usage", page=page,
                           filters=filters, columns=columns, rows=rows, next_token="",
                           keep=keep, request_id="", row_form=[])
