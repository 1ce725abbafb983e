"""AuditService: the audit trail, filtered and paged, masked per the caller's view."""

from __future__ import annotations

import base64
import json
from typing import Any

from kopilka.v1 import audit_pb2, audit_pb2_grpc

from server.api.context import Context
from server.api.convert import time_field, timestamp
from server.api.deps import ApiDeps, caller
from server.api.paging import page_size
from server.audit.views import masked, sees_personal
from server.db.audit.repo import AuditFilter, AuditRecord, list_rows
from server.errors import Violations, invalid

MAX_FILTER = 200


def _after_id(token: str) -> int | None:
    """Page tokens carry the last id shown (opaque to callers)."""
    if not token:
        return None
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise invalid("page.page_token", "not a token from a previous page") from None


def _json(value: Any, personal: bool) -> str:
    if value is None:
        return ""
    return json.dumps(value if personal else masked(value), ensure_ascii=False,
                      sort_keys=True)


def entry_pb(r: AuditRecord, personal: bool) -> audit_pb2.AuditEntry:
    return audit_pb2.AuditEntry(
        id=r.id, create_time=timestamp(r.created_at), principal=r.principal,
        key_id=str(r.key_id) if r.key_id else "", request_id=r.request_id or "",
        object_type=r.object_type, object_id=r.object_id, action=r.action,
        before_json=_json(r.before, personal), after_json=_json(r.after, personal))


class AuditServicer(audit_pb2_grpc.AuditServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    async def ListAudit(
            self, request: audit_pb2.ListAuditRequest, context: Context
    ) -> audit_pb2.ListAuditResponse:
        errors = Violations()
        for name in ("object_type", "object_id", "principal"):
            if len(getattr(request, name)) > MAX_FILTER:
                errors.add(name, f"at most {MAX_FILTER} characters")
        since = time_field(request, "from_time", errors)
        until = time_field(request, "to_time", errors)
        if since and until and since >= until:
            errors.add("to_time", "must be after from_time")
        errors.raise_if_any()
        limit = page_size(request.page.page_size)
        where = AuditFilter(request.object_type, request.object_id, request.principal, since,
                            until, _after_id(request.page.page_token))
        async with self.deps.db.transaction() as session:
            rows = await list_rows(session, where, limit + 1)
        view = self.deps.roles.access(caller()).member_view
        personal = sees_personal(view.fields, view.mask_phone)
        response = audit_pb2.ListAuditResponse(
            entries=[entry_pb(r, personal) for r in rows[:limit]])
        if len(rows) > limit:
            response.page.next_page_token = base64.urlsafe_b64encode(
                str(rows[limit - 1].id).encode()).decode()
        return response
