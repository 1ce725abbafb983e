"""CouponService: issue (one, a batch), get, block and list coupons (docs/coupons.md).

Translation only: the code rules live in server/engagement/coupons.py, the SQL in
server/db/engagement/coupons.py. Issuing and blocking run once per request_id, in one
transaction, audited, with a coupon.issued event per coupon.
"""

from __future__ import annotations

import datetime as dt
import uuid

from kopilka.v1 import coupons_pb2 as pb
from kopilka.v1 import coupons_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import time_field, timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import parse_uuid, run_once
from server.api.paging import decode_token, encode_token, page_size
from server.db.engagement import coupons as sql
from server.db.ledger.repo import raw_connection
from server.db.marketing.repo import member_exists
from server.engagement.coupons import Coupon, CouponSource, CouponState, check_prefix, normalize
from server.errors import Violations, invalid, not_found
from server.limits import MAX_COUPON_BATCH, MAX_COUPON_USES

S = "/kopilka.v1.CouponService/"
STATES = {CouponState.ACTIVE: pb.COUPON_STATE_ACTIVE, CouponState.BLOCKED: pb.COUPON_STATE_BLOCKED}
MAX_USES = MAX_COUPON_USES


def coupon_pb(c: Coupon) -> pb.Coupon:
    return pb.Coupon(
        code=c.code, promotion_id=c.promotion_id, max_uses=c.max_uses, uses=c.uses,
        valid_from_time=timestamp(c.valid_from), valid_to_time=timestamp(c.valid_to),
        member_id=str(c.member_id) if c.member_id else "",
        state=STATES.get(CouponState(c.state), pb.COUPON_STATE_UNSPECIFIED),
        batch_id=str(c.batch_id) if c.batch_id else "", source=c.source,
        create_time=timestamp(c.created_at), block_reason=c.block_reason or "")


class _Spec:
    """The shared fields of IssueCoupon and IssueCouponBatch, checked at once."""

    def __init__(self, request: pb.IssueCouponRequest | pb.IssueCouponBatchRequest) -> None:
        errors = Violations()
        if not request.promotion_id.strip():
            errors.add("promotion_id", "required: the promotion the coupon unlocks")
        if not 0 <= request.max_uses <= MAX_USES:
            errors.add("max_uses", f"0 (= 1) to {MAX_USES}")
        prefix = check_prefix(request.prefix)
        if prefix is None:
            errors.add("prefix", "at most 8 letters and digits without look-alikes "
                       "(no 0, 1, O, I, L, U)")
        now = dt.datetime.now(dt.UTC)
        start = time_field(request, "valid_from_time", errors) or now
        end = time_field(request, "valid_to_time", errors)
        if end is not None and end <= start:
            errors.add("valid_to_time", "must be after valid_from_time")
        errors.raise_if_any()
        self.promotion_id = request.promotion_id.strip()
        self.max_uses = request.max_uses or 1
        self.prefix = prefix or ""
        self.valid_from, self.valid_to = start, end


class CouponServicer(coupons_pb2_grpc.CouponServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps

    async def IssueCoupon(self, request: pb.IssueCouponRequest, context: Context
                          ) -> pb.IssueCouponResponse:
        spec = _Spec(request)
        member_id = parse_uuid(request.member_id, "member_id") if request.member_id else None

        async def work(session: AsyncSession) -> pb.IssueCouponResponse:
            conn = await raw_connection(session)
            if member_id is not None and not await member_exists(conn, member_id):
                raise not_found("member", request.member_id, "MEMBER_NOT_FOUND")
            [coupon] = await sql.issue_coupons(
                conn, count=1, promotion_id=spec.promotion_id, max_uses=spec.max_uses,
                valid_from=spec.valid_from, valid_to=spec.valid_to, member_id=member_id,
                batch_id=None, source=CouponSource.OPERATOR, issued_by=caller().label,
                prefix=spec.prefix)
            return pb.IssueCouponResponse(coupon=coupon_pb(coupon))

        return await run_once(self.deps.db, S + "IssueCoupon", request, pb.IssueCouponResponse,
                              work)

    async def IssueCouponBatch(self, request: pb.IssueCouponBatchRequest, context: Context
                               ) -> pb.IssueCouponBatchResponse:
        spec = _Spec(request)
        if not 1 <= request.count <= MAX_COUPON_BATCH:
            raise invalid("count", f"1 to {MAX_COUPON_BATCH}")

        async def work(session: AsyncSession) -> pb.IssueCouponBatchResponse:
            batch_id = uuid.uuid4()
            coupons = await sql.issue_coupons(
                await raw_connection(session), count=request.count,
                promotion_id=spec.promotion_id, max_uses=spec.max_uses,
                valid_from=spec.valid_from, valid_to=spec.valid_to, member_id=None,
                batch_id=batch_id, source=CouponSource.OPERATOR, issued_by=caller().label,
                prefix=spec.prefix)
            return pb.IssueCouponBatchResponse(batch_id=str(batch_id),
                                               codes=[c.code for c in coupons])

        return await run_once(self.deps.db, S + "IssueCouponBatch", request,
                              pb.IssueCouponBatchResponse, work)

    async def GetCoupon(self, request: pb.GetCouponRequest, context: Context
                        ) -> pb.GetCouponResponse:
        code = _code(request.code)
        async with self.deps.db.transaction() as session:
            coupon = await sql.coupon_by_code(await raw_connection(session), code)
        if coupon is None:
            raise not_found("coupon", code, "COUPON_NOT_FOUND")
        return pb.GetCouponResponse(coupon=coupon_pb(coupon))

    async def BlockCoupon(self, request: pb.BlockCouponRequest, context: Context
                          ) -> pb.BlockCouponResponse:
        code = _code(request.code)
        if not request.reason.strip():
            raise invalid("reason", "required: why the coupon is blocked")

        async def work(session: AsyncSession) -> pb.BlockCouponResponse:
            conn = await raw_connection(session)
            coupon = await sql.coupon_by_code(conn, code, lock=True)
            if coupon is None:
                raise not_found("coupon", code, "COUPON_NOT_FOUND")
            blocked = await sql.block_coupon(conn, coupon, request.reason.strip())
            return pb.BlockCouponResponse(coupon=coupon_pb(blocked))

        return await run_once(self.deps.db, S + "BlockCoupon", request, pb.BlockCouponResponse,
                              work)

    async def ListCoupons(self, request: pb.ListCouponsRequest, context: Context
                          ) -> pb.ListCouponsResponse:
        if not (request.promotion_id or request.batch_id or request.member_id):
            raise invalid("promotion_id", "give promotion_id, batch_id or member_id")
        batch = parse_uuid(request.batch_id, "batch_id") if request.batch_id else None
        member = parse_uuid(request.member_id, "member_id") if request.member_id else None
        size = page_size(request.page_size, "page_size")
        after = decode_token(request.page_token, "page_token")
        async with self.deps.db.transaction() as session:
            rows = await sql.list_coupons(
                await raw_connection(session), promotion_id=request.promotion_id or None,
                batch_id=batch, member_id=member, after=after, limit=size + 1)
        more = len(rows) > size
        rows = rows[:size]
        token = ""
        if more and rows[-1].created_at is not None:
            token = encode_token(rows[-1].created_at, rows[-1].id)
        return pb.ListCouponsResponse(coupons=[coupon_pb(c) for c in rows],
                                      next_page_token=token)


def _code(value: str) -> str:
    code = normalize(value)
    if not code:
        raise invalid("code", "required")
    return code
