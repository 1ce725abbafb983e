"""VerificationService: SMS codes for discount-card use (seed 000) and their template."""

from __future__ import annotations

import datetime as dt

from kopilka.v1 import verification_pb2 as pb
from kopilka.v1 import verification_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Context
from server.api.convert import timestamp
from server.api.deps import ApiDeps, caller
from server.api.idempotency import run_once
from server.api.verification_spend import OPERATION_TO_PB, OPERATIONS, calling_key
from server.db.members.repo import SqlMemberRepository
from server.db.verification.repo import SMS_CHANNEL, SqlVerificationRepository
from server.errors import DomainError, ErrorKind, Violations
from server.settings import Settings
from server.verification.checking import parse_verification_id, verify_code
from server.verification.model import Template, VerificationPolicy
from server.verification.sending import send_code
from server.verification.templates import (
    DEFAULT_TEMPLATE,
    PLACEHOLDERS,
    TEMPLATE_NAME,
    validate_template,
)
from server.verification.tokens import Grant, issue_verification_token

SERVICE = "/kopilka.v1.VerificationService/"


def policy_from(settings: Settings) -> VerificationPolicy:
    return VerificationPolicy(
        code_ttl=dt.timedelta(seconds=settings.verification_code_ttl_seconds),
        max_attempts=settings.verification_max_attempts,
        phone_limit=settings.verification_phone_limit,
        phone_window=dt.timedelta(seconds=settings.verification_phone_window_seconds),
        terminal_limit=settings.verification_terminal_limit,
        terminal_window=dt.timedelta(seconds=settings.verification_terminal_window_seconds),
        token_ttl=dt.timedelta(seconds=settings.verification_token_ttl_seconds),
    )


def _template_pb(template: Template | None) -> pb.VerificationTemplate:
    if template is None:
        return pb.VerificationTemplate(body=DEFAULT_TEMPLATE, placeholders=PLACEHOLDERS)
    return pb.VerificationTemplate(body=template.body, placeholders=PLACEHOLDERS,
                                   update_time=timestamp(template.updated_at),
                                   updated_by=template.updated_by)


class VerificationServicer(verification_pb2_grpc.VerificationServiceServicer):
    def __init__(self, deps: ApiDeps) -> None:
        self.deps = deps
        self.policy = policy_from(deps.settings)

    def _require_sms_channel(self) -> None:
        host = self.deps.plugins
        if SMS_CHANNEL not in host.message_channels():
            raise DomainError(ErrorKind.FAILED_PRECONDITION, "MESSAGE_CHANNEL_NOT_CONFIGURED",
                              "SMS is not configured on this server (KOPILKA_SMPP_HOST)",
                              metadata={"channel": SMS_CHANNEL})

    async def SendVerificationCode(
        self, request: pb.SendVerificationCodeRequest, context: Context
    ) -> pb.SendVerificationCodeResponse:
        errors = Violations()
        operation = OPERATIONS.get(request.operation)
        if operation is None:
            errors.add("operation", "required: the spend the code authorizes")
        if request.max_amount <= 0:
            errors.add("max_amount", "must be positive: the most the spend may take")
        errors.raise_if_any()
        assert operation is not None
        self._require_sms_channel()
        requester = calling_key().requester

        async def work(session: AsyncSession) -> pb.SendVerificationCodeResponse:
            sent = await send_code(
                SqlVerificationRepository(session), SqlMemberRepository(session),
                card_number=request.card_number, phone=request.phone, requester=requester,
                policy=self.policy, now=dt.datetime.now(dt.UTC),
                region=self.deps.settings.default_region, operation=operation,
                max_amount=request.max_amount)
            return pb.SendVerificationCodeResponse(
                verification_id=str(sent.verification_id), expire_time=timestamp(sent.expires_at),
                masked_phone=sent.masked_phone, card_number=sent.card_number,
                max_attempts=sent.max_attempts)

        answer = await run_once(self.deps.db, SERVICE + "SendVerificationCode", request,
                                pb.SendVerificationCodeResponse, work)
        outbox = self.deps.outbox
        if outbox is not None:
            outbox.wake()  # committed: send now rather than at the next poll
        return answer

    async def VerifySMS(
        self, request: pb.VerifySMSRequest, context: Context
    ) -> pb.VerifySMSResponse:
        verification_id = parse_verification_id(request.verification_id)
        requester = calling_key().requester
        async with self.deps.db.transaction() as session:
            outcome = await verify_code(SqlVerificationRepository(session), verification_id,
                                        request.code, requester=requester,
                                        now=dt.datetime.now(dt.UTC))
        if outcome.refusal is not None:
            raise outcome.refusal  # after the commit, so wrong attempts stay counted
        verified = outcome.verified
        assert verified is not None
        # the verification id is the token id: a retry gets the same (single) spend again
        grant = Grant(verified.verification_id, verified.card_number, verified.operation,
                      verified.max_amount, calling_key(),
                      verified.verified_at + self.policy.token_ttl)
        return pb.VerifySMSResponse(
            verification_token=issue_verification_token(self.deps.signer, grant),
            card_number=verified.card_number, expire_time=timestamp(grant.expires_at),
            operation=OPERATION_TO_PB[verified.operation], max_amount=verified.max_amount)

    async def GetVerificationTemplate(
        self, request: pb.GetVerificationTemplateRequest, context: Context
    ) -> pb.GetVerificationTemplateResponse:
        async with self.deps.db.transaction() as session:
            template = await SqlVerificationRepository(session).template(TEMPLATE_NAME)
        return pb.GetVerificationTemplateResponse(template=_template_pb(template))

    async def UpdateVerificationTemplate(
        self, request: pb.UpdateVerificationTemplateRequest, context: Context
    ) -> pb.UpdateVerificationTemplateResponse:
        body = validate_template(request.body)
        label = caller().label

        async def work(session: AsyncSession) -> pb.UpdateVerificationTemplateResponse:
            saved = await SqlVerificationRepository(session).save_template(
                TEMPLATE_NAME, body, label)
            return pb.UpdateVerificationTemplateResponse(template=_template_pb(saved))

        return await run_once(self.deps.db, SERVICE + "UpdateVerificationTemplate", request,
                              pb.UpdateVerificationTemplateResponse, work)
