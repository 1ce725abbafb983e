"""What the console's page modules share: the mount point, RPC name prefixes, the keys the
sign-in check leaves on a request, and small form and response helpers."""

from __future__ import annotations

from aiohttp import web

from server.access.model import User
from server.auth.principal import Principal
from server.console import lists

PREFIX = "/console"
M = "/kopilka.v1.MemberService/"
C = "/kopilka.v1.CertificateService/"
B = "/kopilka.v1.BonusService/"
A = "/kopilka.v1.AdminService/"

USER = web.RequestKey("user", User)
PRINCIPAL = web.RequestKey("principal", Principal)
CSRF = web.RequestKey("csrf", str)


def names(text: str) -> list[str]:
    """"operator, admin" -> ["operator", "admin"] (role lists typed in one field)."""
    return [n for n in (part.strip() for part in text.replace(",", " ").split()) if n]


def csv_response(filename: str, columns: list[str], rows: list[dict[str, str]]) -> web.Response:
    response = web.Response(text=lists.as_csv(columns, rows), content_type="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
