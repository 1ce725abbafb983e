"""Permissions, roles and the permission each RPC needs.

A role is a named set of permissions; an API key carries roles. Every RPC must appear in
RPC_PERMISSIONS (a test checks it against the proto), so a new RPC is denied until someone
decides who may call it.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    """One thing a caller may do."""

    RECEIPTS_CALCULATE = "receipts.calculate"
    RECEIPTS_CONFIRM = "receipts.confirm"
    RECEIPTS_REFUND = "receipts.refund"
    BONUS_READ = "bonus.read"
    BONUS_REDEEM = "bonus.redeem"
    BONUS_ADJUST = "bonus.adjust"
    VERIFICATION_USE = "verification.use"
    MEMBERS_READ = "members.read"
    # The whole profile (last name, birth date, address, e-mail...); without it a member is
    # shown in the sale view of server/members/views.py.
    MEMBERS_READ_PERSONAL = "members.read_personal"
    MEMBERS_REGISTER = "members.register"
    MEMBERS_WRITE = "members.write"
    CARDS_MANAGE = "cards.manage"
    CERTIFICATES_READ = "certificates.read"
    CERTIFICATES_ISSUE = "certificates.issue"
    CERTIFICATES_MANAGE = "certificates.manage"
    CATALOG_WRITE = "catalog.write"
    MAILINGS_READ = "mailings.read"
    CONFIG_READ = "config.read"
    CONFIG_WRITE = "config.write"
    API_KEYS_MANAGE = "api_keys.manage"
    # Approve or reject another principal's manual points/cash change above the threshold.
    BONUS_APPROVE = "bonus.approve"
    AUDIT_READ = "audit.read"
    ECHO = "echo"


P = Permission

_POS = frozenset({
    P.ECHO, P.RECEIPTS_CALCULATE, P.RECEIPTS_CONFIRM, P.RECEIPTS_REFUND, P.BONUS_READ,
    P.BONUS_REDEEM, P.VERIFICATION_USE, P.MEMBERS_READ, P.MEMBERS_REGISTER, P.CERTIFICATES_READ,
    P.CERTIFICATES_ISSUE,
})

ROLES: dict[str, frozenset[Permission]] = {
    # A till in a store: sells, looks up, registers at the counter.
    "cashier": _POS,
    # The online store's backend: the same operations as a till, from the web, and the
    # same sale view of members (why: server/members/views.py).
    "store_backend": _POS,
    # Contact center and marketing: manage members, cards, points, certificates.
    "operator": _POS | {
        P.MEMBERS_READ_PERSONAL, P.BONUS_ADJUST, P.MEMBERS_WRITE, P.CARDS_MANAGE,
        P.CERTIFICATES_MANAGE, P.CONFIG_READ, P.MAILINGS_READ,
    },
    # External systems (1C, questionnaire service): catalog and registrations. They send
    # personal data in but never need it back (finding whether a member exists needs only the
    # sale view), so no MEMBERS_READ_PERSONAL.
    "integrator": frozenset({
        P.ECHO, P.CATALOG_WRITE, P.MEMBERS_REGISTER, P.MEMBERS_READ, P.CONFIG_READ,
    }),
    # Configures the program itself, including keys.
    "admin": frozenset(Permission),
}

RPC_PERMISSIONS: dict[str, Permission] = {
    "/kopilka.v1.ReceiptService/CalculateReceipt": P.RECEIPTS_CALCULATE,
    "/kopilka.v1.ReceiptService/ConfirmReceipt": P.RECEIPTS_CONFIRM,
    "/kopilka.v1.ReceiptService/RefundReceipt": P.RECEIPTS_REFUND,
    "/kopilka.v1.ReceiptService/CancelReceipt": P.RECEIPTS_REFUND,
    "/kopilka.v1.BonusService/RedeemBonus": P.BONUS_REDEEM,
    "/kopilka.v1.BonusService/GetBalance": P.BONUS_READ,
    "/kopilka.v1.BonusService/AdjustPoints": P.BONUS_ADJUST,
    "/kopilka.v1.BonusService/AccruePointsForList": P.BONUS_ADJUST,
    "/kopilka.v1.BonusService/TopUpCashAccount": P.BONUS_ADJUST,
    "/kopilka.v1.BonusService/ConvertFunds": P.BONUS_REDEEM,
    "/kopilka.v1.BonusService/PoolCashAccounts": P.BONUS_ADJUST,
    "/kopilka.v1.VerificationService/SendVerificationCode": P.VERIFICATION_USE,
    "/kopilka.v1.VerificationService/VerifySMS": P.VERIFICATION_USE,
    "/kopilka.v1.VerificationService/GetVerificationTemplate": P.CONFIG_READ,
    "/kopilka.v1.VerificationService/UpdateVerificationTemplate": P.CONFIG_WRITE,
    "/kopilka.v1.MailingService/ListMailings": P.MAILINGS_READ,
    "/kopilka.v1.MemberService/RegisterMember": P.MEMBERS_REGISTER,
    "/kopilka.v1.MemberService/GetMember": P.MEMBERS_READ,
    "/kopilka.v1.MemberService/FindMember": P.MEMBERS_READ,
    "/kopilka.v1.MemberService/UpdateMemberProfile": P.MEMBERS_WRITE,
    "/kopilka.v1.MemberService/IssueCard": P.CARDS_MANAGE,
    "/kopilka.v1.MemberService/ChangeCardState": P.CARDS_MANAGE,
    "/kopilka.v1.MemberService/ReplaceCard": P.CARDS_MANAGE,
    "/kopilka.v1.MemberService/ListPurchases": P.MEMBERS_READ,
    "/kopilka.v1.CertificateService/IssueCertificate": P.CERTIFICATES_ISSUE,
    "/kopilka.v1.CertificateService/GetCertificate": P.CERTIFICATES_READ,
    "/kopilka.v1.CertificateService/BlockCertificate": P.CERTIFICATES_MANAGE,
    "/kopilka.v1.CertificateService/ReissueCertificate": P.CERTIFICATES_MANAGE,
    "/kopilka.v1.CertificateService/UpsertCertificateType": P.CERTIFICATES_MANAGE,
    "/kopilka.v1.CertificateService/ListCertificateTypes": P.CERTIFICATES_READ,
    "/kopilka.v1.CertificateService/ActivateCertificate": P.CERTIFICATES_ISSUE,
    # Spending a certificate or returning money to it is part of a sale or a return.
    "/kopilka.v1.CertificateService/RedeemCertificate": P.RECEIPTS_CONFIRM,
    "/kopilka.v1.CertificateService/RefundToCertificate": P.RECEIPTS_REFUND,
    "/kopilka.v1.CertificateService/ExpireCertificates": P.CERTIFICATES_MANAGE,
    "/kopilka.v1.CertificateService/GetCertificateUsageReport": P.CERTIFICATES_MANAGE,
    "/kopilka.v1.AdminService/UpsertStore": P.CONFIG_WRITE,
    "/kopilka.v1.AdminService/ListStores": P.CONFIG_READ,
    "/kopilka.v1.AdminService/UpsertCardType": P.CONFIG_WRITE,
    "/kopilka.v1.AdminService/ListCardTypes": P.CONFIG_READ,
    "/kopilka.v1.AdminService/UpsertProducts": P.CATALOG_WRITE,
    "/kopilka.v1.AdminService/ApplyRuleSet": P.CONFIG_WRITE,
    "/kopilka.v1.AdminService/CreateApiKey": P.API_KEYS_MANAGE,
    "/kopilka.v1.AdminService/Echo": P.ECHO,
    "/kopilka.v1.AuditService/ListAudit": P.AUDIT_READ,
    "/kopilka.v1.BonusService/ApproveAdjustment": P.BONUS_APPROVE,
    "/kopilka.v1.BonusService/RejectAdjustment": P.BONUS_APPROVE,
    "/kopilka.v1.BonusService/ListPendingAdjustments": P.BONUS_APPROVE,
}

# Services anyone may call without a key: load balancers and tooling need them.
PUBLIC_SERVICE_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def permissions_for(roles: list[str] | tuple[str, ...]) -> frozenset[Permission]:
    """Union of the roles' permissions; unknown roles grant nothing."""
    granted: frozenset[Permission] = frozenset()
    for role in roles:
        granted |= ROLES.get(role, frozenset())
    return granted
