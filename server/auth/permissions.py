"""Permissions and the permission each RPC needs; what each permission is as a right.

Every RPC must appear in RPC_PERMISSIONS (a test checks it against the proto), so a new RPC
is denied until someone decides who may call it. A permission is one (object type, action)
right (NEEDS); roles are data in the database that grant rights (server/auth/roles.py), so
who holds a permission is decided there, not here.
"""

from __future__ import annotations

from enum import StrEnum

from server.auth.grants import Action, ObjectType, Right


class Permission(StrEnum):
    """One thing an RPC needs."""

    RECEIPTS_CALCULATE = "receipts.calculate"
    RECEIPTS_CONFIRM = "receipts.confirm"
    RECEIPTS_REFUND = "receipts.refund"
    BONUS_READ = "bonus.read"
    BONUS_REDEEM = "bonus.redeem"
    BONUS_ADJUST = "bonus.adjust"
    CASH_ACCOUNTS_MANAGE = "cash_accounts.manage"
    VERIFICATION_USE = "verification.use"
    MEMBERS_READ = "members.read"
    MEMBERS_REGISTER = "members.register"
    MEMBERS_WRITE = "members.write"
    MEMBERS_VIP = "members.vip"
    CARDS_MANAGE = "cards.manage"
    CERTIFICATES_READ = "certificates.read"
    CERTIFICATES_ISSUE = "certificates.issue"
    CERTIFICATES_MANAGE = "certificates.manage"
    CATALOG_WRITE = "catalog.write"
    MAILINGS_READ = "mailings.read"
    CONFIG_READ = "config.read"
    CONFIG_WRITE = "config.write"
    PROMOTIONS_WRITE = "promotions.write"
    API_KEYS_MANAGE = "api_keys.manage"
    ROLES_READ = "roles.read"
    ROLES_WRITE = "roles.write"
    ROLES_DELETE = "roles.delete"
    # Operator users of the console: create, list, roles, passwords, TOTP, disable.
    USERS_MANAGE = "users.manage"
    # Sign people in and out and check their sessions: the console's backend does this for
    # the browser, with its own key (role "console"), so no RPC is callable without a key.
    USERS_LOGIN = "users.login"
    # Approve or reject another principal's manual points/cash change above the threshold.
    BONUS_APPROVE = "bonus.approve"
    AUDIT_READ = "audit.read"
    IMPORTS_RUN = "imports.run"
    ECHO = "echo"


P = Permission
T = ObjectType
A = Action

# The right each permission is; None: any valid key (Echo only says who the caller is).
NEEDS: dict[Permission, Right | None] = {
    P.RECEIPTS_CALCULATE: (T.ORDERS, A.READ),
    P.RECEIPTS_CONFIRM: (T.ORDERS, A.CREATE),
    P.RECEIPTS_REFUND: (T.ORDERS, A.UPDATE),
    P.VERIFICATION_USE: (T.ORDERS, A.APPROVE),  # approve a spend with the member's SMS code
    P.BONUS_READ: (T.POINTS, A.READ),
    P.BONUS_REDEEM: (T.POINTS, A.UPDATE),  # spend points (and convert funds) in a sale
    P.BONUS_ADJUST: (T.POINTS, A.CREATE),  # points by hand, for one member or a list
    P.CASH_ACCOUNTS_MANAGE: (T.CASH_ACCOUNTS, A.UPDATE),
    P.MEMBERS_READ: (T.MEMBERS, A.READ),
    P.MEMBERS_REGISTER: (T.MEMBERS, A.CREATE),
    P.MEMBERS_WRITE: (T.MEMBERS, A.UPDATE),
    P.MEMBERS_VIP: (T.VIP_MEMBERS, A.UPDATE),  # mark or unmark a member VIP
    P.CARDS_MANAGE: (T.CARDS, A.UPDATE),
    P.CERTIFICATES_READ: (T.CERTIFICATES, A.READ),
    P.CERTIFICATES_ISSUE: (T.CERTIFICATES, A.CREATE),
    P.CERTIFICATES_MANAGE: (T.CERTIFICATES, A.UPDATE),
    P.CATALOG_WRITE: (T.CATALOG, A.UPDATE),
    P.MAILINGS_READ: (T.MAILINGS, A.READ),
    P.CONFIG_READ: (T.STORES, A.READ),
    P.CONFIG_WRITE: (T.STORES, A.UPDATE),
    P.PROMOTIONS_WRITE: (T.PROMOTIONS, A.UPDATE),
    P.API_KEYS_MANAGE: (T.KEYS, A.UPDATE),
    P.ROLES_READ: (T.ROLES, A.READ),
    P.ROLES_WRITE: (T.ROLES, A.UPDATE),
    P.ROLES_DELETE: (T.ROLES, A.DELETE),
    P.USERS_MANAGE: (T.USERS, A.UPDATE),
    P.USERS_LOGIN: (T.USERS, A.APPROVE),  # approve a person's sign-in (the console's key)
    P.BONUS_APPROVE: (T.POINTS, A.APPROVE),  # the second pair of eyes on manual money
    P.AUDIT_READ: (T.AUDIT, A.READ),
    P.IMPORTS_RUN: (T.IMPORTS, A.CREATE),  # bring history over (members, balances, sales)
    P.ECHO: None,
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
    "/kopilka.v1.BonusService/TopUpCashAccount": P.CASH_ACCOUNTS_MANAGE,
    "/kopilka.v1.BonusService/ConvertFunds": P.BONUS_REDEEM,
    "/kopilka.v1.BonusService/PoolCashAccounts": P.CASH_ACCOUNTS_MANAGE,
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
    "/kopilka.v1.MemberService/SetMemberVip": P.MEMBERS_VIP,
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
    "/kopilka.v1.AdminService/ApplyRuleSet": P.PROMOTIONS_WRITE,
    "/kopilka.v1.AdminService/CreateApiKey": P.API_KEYS_MANAGE,
    "/kopilka.v1.AdminService/Echo": P.ECHO,
    "/kopilka.v1.AdminService/ListApiKeys": P.API_KEYS_MANAGE,
    "/kopilka.v1.AdminService/RevokeApiKey": P.API_KEYS_MANAGE,
    "/kopilka.v1.AdminService/RotateApiKey": P.API_KEYS_MANAGE,
    "/kopilka.v1.UserService/CreateUser": P.USERS_MANAGE,
    "/kopilka.v1.UserService/ListUsers": P.USERS_MANAGE,
    "/kopilka.v1.UserService/SetUserRoles": P.USERS_MANAGE,
    "/kopilka.v1.UserService/SetPassword": P.USERS_MANAGE,
    "/kopilka.v1.UserService/EnrolTotp": P.USERS_MANAGE,
    "/kopilka.v1.UserService/DisableUser": P.USERS_MANAGE,
    "/kopilka.v1.UserService/Login": P.USERS_LOGIN,
    "/kopilka.v1.UserService/GetSession": P.USERS_LOGIN,
    "/kopilka.v1.UserService/Logout": P.USERS_LOGIN,
    "/kopilka.v1.RoleService/ListRoles": P.ROLES_READ,
    "/kopilka.v1.RoleService/UpsertRole": P.ROLES_WRITE,
    "/kopilka.v1.RoleService/DeleteRole": P.ROLES_DELETE,
    "/kopilka.v1.AuditService/ListAudit": P.AUDIT_READ,
    "/kopilka.v1.ImportService/RunImport": P.IMPORTS_RUN,
    "/kopilka.v1.ImportService/UploadImport": P.IMPORTS_RUN,
    "/kopilka.v1.BonusService/ApproveAdjustment": P.BONUS_APPROVE,
    "/kopilka.v1.BonusService/RejectAdjustment": P.BONUS_APPROVE,
    "/kopilka.v1.BonusService/ListPendingAdjustments": P.BONUS_APPROVE,
}

# Services anyone may call without a key: load balancers and tooling need them.
PUBLIC_SERVICE_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
