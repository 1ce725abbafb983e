"""The console's list pages: one generic page per list RPC (program and operations).

Each page is the RPC's answer as a table, through `Door` (so its permission and views): its
string and time filters become a form (read from the request's descriptor, so a filter added
to the proto shows up here), and `page.next_page_token` becomes a "next page" link.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from kopilka.v1 import (
    admin_pb2,
    audit_pb2,
    bonus_pb2,
    certificates_pb2,
    mailings_pb2,
    roles_pb2,
    users_pb2,
)

from server.errors import invalid


@dataclass(frozen=True, slots=True)
class ListPage:
    """A list RPC shown as a page: its title key, method, messages and the repeated field."""

    title: str
    method: str
    request: type[Message]
    response: type[Message]
    rows: str
    section: str  # "program" or "operations" (the nav)
    # The RPC that adds or changes one row, its messages and the request's row field.
    upsert: tuple[str, type[Message], type[Message], str] | None = None


A, C = "/kopilka.v1.AdminService/", "/kopilka.v1.CertificateService/"
LISTS: dict[str, ListPage] = {
    "stores": ListPage("stores", A + "ListStores", admin_pb2.ListStoresRequest,
                       admin_pb2.ListStoresResponse, "stores", "program",
                       (A + "UpsertStore", admin_pb2.UpsertStoreRequest,
                        admin_pb2.UpsertStoreResponse, "store")),
    "card-types": ListPage("card_types", A + "ListCardTypes", admin_pb2.ListCardTypesRequest,
                           admin_pb2.ListCardTypesResponse, "card_types", "program",
                           (A + "UpsertCardType", admin_pb2.UpsertCardTypeRequest,
                            admin_pb2.UpsertCardTypeResponse, "card_type")),
    "certificate-types": ListPage(
        "certificate_types", C + "ListCertificateTypes",
        certificates_pb2.ListCertificateTypesRequest,
        certificates_pb2.ListCertificateTypesResponse, "certificate_types", "program"),
    "mailings": ListPage("mailings", "/kopilka.v1.MailingService/ListMailings",
                         mailings_pb2.ListMailingsRequest, mailings_pb2.ListMailingsResponse,
                         "mailings", "operations"),
    "audit": ListPage("audit_log", "/kopilka.v1.AuditService/ListAudit",
                      audit_pb2.ListAuditRequest, audit_pb2.ListAuditResponse, "entries",
                      "operations"),
    "api-keys": ListPage("api_keys", A + "ListApiKeys", admin_pb2.ListApiKeysRequest,
                         admin_pb2.ListApiKeysResponse, "keys", "operations"),
    "users": ListPage("users", "/kopilka.v1.UserService/ListUsers", users_pb2.ListUsersRequest,
                      users_pb2.ListUsersResponse, "users", "operations"),
    "roles": ListPage("roles", "/kopilka.v1.RoleService/ListRoles", roles_pb2.ListRolesRequest,
                      roles_pb2.ListRolesResponse, "roles", "operations"),
    "pending": ListPage("pending", "/kopilka.v1.BonusService/ListPendingAdjustments",
                        bonus_pb2.ListPendingAdjustmentsRequest,
                        bonus_pb2.ListPendingAdjustmentsResponse, "adjustments", "operations"),
}

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class Filter:
    """One form field of a list page: a string or a date (for a Timestamp field)."""

    name: str
    kind: str  # "text" or "date"
    value: str


def _date_stamp(value: str, end_of_day: bool) -> Timestamp | None:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return None
    at = dt.datetime.combine(day + dt.timedelta(days=1) if end_of_day else day, dt.time(),
                             dt.UTC)
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def build_request(page: ListPage, query: dict[str, str]) -> tuple[Message, list[Filter]]:
    """The list request from the page's query string, and the filters to show."""
    request = page.request()
    filters: list[Filter] = []
    for field in page.request.DESCRIPTOR.fields:
        value = query.get(field.name, "").strip()
        if field.type == FieldDescriptor.TYPE_STRING and not field.is_repeated:
            filters.append(Filter(field.name, "text", value))
            if value:
                setattr(request, field.name, value[:200])
        elif field.message_type is not None and \
                field.message_type.full_name == "google.protobuf.Timestamp":
            filters.append(Filter(field.name, "date", value))
            stamp = _date_stamp(value, field.name in ("to_time", "until"))
            if stamp is not None:
                getattr(request, field.name).CopyFrom(stamp)
        elif field.name == "page":
            request.page.page_size = PAGE_SIZE  # type: ignore[attr-defined]
            if query.get("page_token"):
                request.page.page_token = query["page_token"][:500]  # type: ignore[attr-defined]
        elif field.type == FieldDescriptor.TYPE_BOOL:
            filters.append(Filter(field.name, "bool", query.get(field.name, "")))
            setattr(request, field.name, query.get(field.name) == "1")
    return request, filters


def table(messages: Any) -> tuple[list[str], list[dict[str, str]]]:
    """Rows of a repeated message field as strings, with the union of their columns."""
    rows = [MessageToDict(m, preserving_proto_field_name=True) for m in messages]
    columns: list[str] = list(dict.fromkeys(k for row in rows for k in row))
    return columns, [{c: _cell(row.get(c, "")) for c in columns} for row in rows]


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def next_token(response: Message) -> str:
    page = getattr(response, "page", None)
    return str(getattr(page, "next_page_token", "")) if page is not None else ""


def as_csv(columns: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def row_fields(page: ListPage) -> list[Filter]:
    """The form of a page's upsert: the row message's string, integer and bool fields."""
    if page.upsert is None:
        return []
    _, request, _, name = page.upsert
    row = request.DESCRIPTOR.fields_by_name[name].message_type
    assert row is not None  # the upsert's row field is a message
    kinds = {FieldDescriptor.TYPE_STRING: "text", FieldDescriptor.TYPE_BOOL: "bool",
             FieldDescriptor.TYPE_INT32: "number", FieldDescriptor.TYPE_INT64: "number"}
    return [Filter(f.name, kinds[f.type], "") for f in row.fields
            if f.type in kinds and not f.is_repeated]


def upsert_request(page: ListPage, form: dict[str, str]) -> Message:
    """The upsert request from the form; INVALID_ARGUMENT naming a field that should be a
    whole number and is not (the form's own parsing; the RPC validates the rest)."""
    assert page.upsert is not None
    _, request_type, _, name = page.upsert
    request = request_type(request_id=form.get("request_id", ""))
    row = getattr(request, name)
    for field in row_fields(page):
        value = form.get(field.name, "").strip()
        if field.kind == "bool":
            setattr(row, field.name, value == "1")
        elif field.kind == "number":
            try:
                setattr(row, field.name, int(value or "0"))
            except ValueError:
                raise invalid(f"{name}.{field.name}", "not a whole number") from None
        else:
            setattr(row, field.name, value)
    return request
