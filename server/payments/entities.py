"""Legal entities of the seller: what makes an EDRPOU code, an IBAN and a tax status valid.

Checked here, before anything is stored, so a mistyped code or account number (the most
common error on a printed invoice) is refused naming its field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from server.errors import Violations


class TaxStatus(StrEnum):
    VAT_PAYER = "vat_payer"
    NON_VAT = "non_vat"
    SINGLE_TAX = "single_tax"


#: VAT rate of a VAT payer, basis points (prices include it)
VAT_BPS = 2000


@dataclass(frozen=True, slots=True)
class NovaPoshtaSender:
    sender_ref: str = ""
    contact_ref: str = ""
    city_ref: str = ""
    address_ref: str = ""
    phone: str = ""

    @property
    def complete(self) -> bool:
        return all((self.sender_ref, self.contact_ref, self.city_ref, self.address_ref,
                    self.phone))


@dataclass(frozen=True, slots=True)
class Entity:
    code: str
    name: str
    edrpou: str
    iban: str
    tax_status: TaxStatus
    address: str = ""
    liqpay_public_key: str = ""
    nova_poshta: NovaPoshtaSender = NovaPoshtaSender()

    def vat_of(self, total_minor: int) -> int:
        """VAT included in a gross amount, rounded half up to the kopeck (0 when no VAT)."""
        if self.tax_status is not TaxStatus.VAT_PAYER:
            return 0
        return (total_minor * VAT_BPS * 2 + (10_000 + VAT_BPS)) // (2 * (10_000 + VAT_BPS))


def edrpou_check_digit(first7: str) -> int:
    """The check digit of an EDRPOU code (the State Statistics Service's algorithm): weights
    1..7 (7,1..6 for codes between 30000000 and 60000000), sum mod 11; a remainder of 10
    weighs again with every weight + 2; 10 again gives 0."""
    digits = [int(c) for c in first7]
    value = int(first7 + "0")
    base = [7, 1, 2, 3, 4, 5, 6] if 30_000_000 < value < 60_000_000 else [1, 2, 3, 4, 5, 6, 7]
    for bump in (0, 2):
        rest = sum(d * (w + bump) for d, w in zip(digits, base, strict=True)) % 11
        if rest < 10:
            return rest
    return 0


def edrpou_valid(code: str) -> bool:
    return bool(re.fullmatch(r"\d{8}", code)) and edrpou_check_digit(code[:7]) == int(code[7])


def iban_valid(iban: str) -> bool:
    """ISO 13616 mod-97; a Ukrainian IBAN is UA + 2 check digits + 25 digits (29 chars)."""
    if not re.fullmatch(r"UA\d{27}", iban):
        return False
    moved = iban[4:] + iban[:4]
    number = "".join(str(int(c, 36)) for c in moved)
    return int(number) % 97 == 1


def normalize_iban(raw: str) -> str:
    return re.sub(r"\s", "", raw).upper()


def validate(entity: Entity, path: str = "entity") -> None:
    errors = Violations()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", entity.code):
        errors.add(f"{path}.code", "required: lower-case letters, digits, - and _")
    if not entity.name.strip():
        errors.add(f"{path}.name", "required: the registered name")
    if not edrpou_valid(entity.edrpou):
        errors.add(f"{path}.edrpou", "must be 8 digits whose last is the EDRPOU check digit")
    if not iban_valid(entity.iban):
        errors.add(f"{path}.iban", "must be a Ukrainian IBAN (UA + 27 digits) passing mod-97")
    np = entity.nova_poshta
    refs = {"sender_ref": np.sender_ref, "contact_ref": np.contact_ref,
            "city_ref": np.city_ref, "address_ref": np.address_ref}
    for name, ref in refs.items():
        if ref and not re.fullmatch(r"[0-9a-fA-F-]{36}", ref):
            errors.add(f"{path}.nova_poshta.{name}", "a Nova Poshta Ref (36-character GUID)")
    if np.phone and not re.fullmatch(r"380\d{9}", np.phone):
        errors.add(f"{path}.nova_poshta.phone", "380XXXXXXXXX")
    errors.raise_if_any()
