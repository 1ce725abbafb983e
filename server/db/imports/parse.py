"""Parsing and checking source rows in SQL, set-based: the raw CSV text goes into a TEMP
table by COPY (no Python per row) and one INSERT ... SELECT turns it into the typed stage.

Per kind: the source columns it reads, what is parsed once per row (numbers, times, the
phone), the checks in the order the Python parsers of server/imports/kinds.py apply them
(the first failing one is the row's field and reason) and the staged values. Casts are
guarded (a regex or one of migration 0023's functions, which return NULL instead of
failing), so no value can abort the statement. What SQL cannot decide exactly (a phone
that is not a Ukrainian mobile notation, an e-mail with non-ASCII characters) is staged as
pending and decided by Python for just those rows (store.ImportStore.resolve_pending).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.imports.kinds import CERTIFICATE_STATES, DELIVERY_KINDS, KINDS, ORDER_STATES

TRIM = r"E' \t\r\n\f\x0b'"
_CODE_RE = r"'^[A-Za-z0-9_.\-]+$'"  # its length is checked first; {1,64} is slow
_WHOLE = "'not a whole number (minor units, no decimal point)'"
_DATE = "'a date (YYYY-MM-DD or DD.MM.YYYY)'"


def q(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


Check = tuple[str, str, str]  # field, condition that refuses the row, reason (SQL)


@dataclass(slots=True)
class Spec:
    """How one kind is parsed in SQL (see the module docstring)."""

    sources: tuple[str, ...]
    parsed: dict[str, str] = field(default_factory=dict)  # p_<name> -> expression
    checks: list[Check] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # staged column -> expression
    flags: str = "'{}'::text[]"
    pending: dict[str, str] = field(default_factory=dict)  # staged raw value Python decides


def _text(spec: Spec, name: str, limit: int, *, required: bool = False) -> str:
    if required:
        spec.checks.append((name, f"s_{name} = ''", "'required'"))
    spec.checks.append((name, f"length(s_{name}) > {limit}", q(f"at most {limit} characters")))
    return f"s_{name}"


def _code(spec: Spec, name: str, *, required: bool = True) -> str:
    _text(spec, name, 64, required=required)
    spec.checks.append((name, f"s_{name} <> '' AND s_{name} !~ {_CODE_RE}",
                        q("1-64 letters, digits, '_', '-', '.'")))
    return f"s_{name}"


def _int(spec: Spec, name: str, *, minimum: int = 0, maximum: int = 10**15,
         required: bool = True) -> str:
    bare = f"replace(s_{name}, ' ', '')"
    spec.parsed[f"p_{name}"] = f"CASE WHEN {bare} ~ '^[+-]?[0-9]+$' THEN {bare}::numeric END"
    if required:
        spec.checks.append((name, f"{bare} = ''", "'required'"))
    spec.checks += [
        (name, f"{bare} <> '' AND p_{name} IS NULL", _WHOLE),
        (name, f"p_{name} < {minimum}",
         "'negative'" if minimum == 0 else q(f"at least {minimum}")),
        (name, f"p_{name} > {maximum}", q(f"at most {maximum}"))]
    return f"p_{name}::bigint"


def _card(spec: Spec, name: str = "card_number", *, required: bool = True) -> str:
    spec.parsed["p_card"] = f"replace(s_{name}, ' ', '')"
    if required:
        spec.checks.append((name, "p_card = ''", "'required'"))
    spec.checks.append((name, "p_card <> '' AND (p_card !~ '^[0-9]+$' OR length(p_card) > 13)",
                        "'up to 13 digits'"))
    return "nullif(p_card, '')"


def _moment(spec: Spec, name: str, *, required: bool = False) -> str:
    spec.parsed[f"p_{name}"] = f"CASE WHEN s_{name} <> '' THEN kopilka_import_moment(s_{name}) END"
    if required:
        spec.checks.append((name, f"s_{name} = ''", "'required'"))
    spec.checks.append((name, f"s_{name} <> '' AND p_{name} IS NULL", _DATE))
    return f"p_{name}"


def _directory(parent: bool = False) -> Spec:
    spec = Spec(("code", "name", "parent_code") if parent else ("code", "name"))
    spec.values["code"] = _code(spec, "code")
    spec.values["name"] = _text(spec, "name", 1000)
    if parent:
        spec.values["parent_code"] = _code(spec, "parent_code", required=False)
    return spec


def _members() -> Spec:
    spec = Spec(("card_number", "card_type", "card_state", "phone", "email", "first_name",
                 "last_name", "middle_name", "gender", "birth_date", "address"))
    number = _card(spec, required=False)
    spec.parsed["p_phone"] = "CASE WHEN s_phone <> '' THEN kopilka_ua_phone(s_phone) END"
    spec.parsed["p_email"] = r"CASE WHEN s_email ~ '^[\x21-\x7e]+$' THEN lower(s_email) END"
    spec.parsed["p_birth"] = ("CASE WHEN s_birth_date <> '' "
                              "THEN kopilka_import_date(s_birth_date) END")
    spec.pending = {
        "pending_phone": "CASE WHEN s_phone <> '' AND p_phone IS NULL THEN s_phone END",
        "pending_email": "CASE WHEN s_email <> '' AND p_email IS NULL THEN s_email END"}
    states = "('new', 'active', 'blocked', 'closed', 'completed')"
    spec.checks += [
        ("email", r"p_email IS NOT NULL AND (length(p_email) > 254 OR p_email !~ "
                  r"'^[^@\s]+@[^@\s]+\.[^@\s]+$')", "'not a valid e-mail address'"),
        ("phone", "s_phone = '' AND s_email = ''", "'a member needs a phone or an e-mail'"),
        ("card_state", "length(s_card_state) > 16", "'at most 16 characters'"),
        ("card_state", f"coalesce(nullif(s_card_state, ''), 'active') NOT IN {states}",
         "'new, active, blocked, closed or completed'"),
        ("card_type", "p_card <> '' AND s_card_type = ''", "'required'")]
    spec.checks.append(("card_type", "length(s_card_type) > 64", "'at most 64 characters'"))
    spec.checks.append(("card_type", f"s_card_type <> '' AND s_card_type !~ {_CODE_RE}",
                        q("1-64 letters, digits, '_', '-', '.'")))
    _text(spec, "gender", 16)
    spec.checks += [
        ("birth_date", "s_birth_date <> '' AND p_birth IS NULL", _DATE),
        ("birth_date", "p_birth NOT BETWEEN DATE '1900-01-01' AND :today",
         "'between 1900-01-01 and today'")]
    for name in ("first_name", "last_name", "middle_name"):
        _text(spec, name, 200)
    _text(spec, "address", 1000)
    spec.values = {
        "member_id": "gen_random_uuid()", "card_number": number,
        "card_type": "nullif(s_card_type, '')",
        "card_state": "coalesce(nullif(s_card_state, ''), 'active')", "phone": "p_phone",
        "email": "p_email", "first_name": "s_first_name", "last_name": "s_last_name",
        "middle_name": "s_middle_name", "gender": "lower(s_gender)", "birth_date": "p_birth",
        "address": "s_address"}
    spec.flags = ("CASE WHEN p_card <> '' AND NOT kopilka_ean13_ok(p_card) "
                  "THEN ARRAY['legacy_card_number'] ELSE '{}'::text[] END")
    return spec


def _points() -> Spec:
    spec = Spec(("card_number", "points", "activation_at", "expiry_at"))
    number = _card(spec)
    points = _int(spec, "points")
    spec.checks.append(("points", "p_points = 0", "'at least 1 (a zero balance needs no lot)'"))
    activation = _moment(spec, "activation_at")
    expiry = _moment(spec, "expiry_at")
    spec.checks += [
        ("expiry_at", f"{expiry} <= :now", "'already expired: the points could never be spent'"),
        ("expiry_at", f"{expiry} <= coalesce({activation}, :now)", "'before the activation'")]
    spec.values = {"card_number": number, "points": points,
                   "activation_at": f"coalesce({activation}, :now)", "expiry_at": expiry}
    return spec


def _cash() -> Spec:
    spec = Spec(("card_number", "balance_minor"))
    number = _card(spec)
    amount = _int(spec, "balance_minor")
    spec.checks.append(("balance_minor", "p_balance_minor = 0",
                        "'at least 1 (a zero balance needs no entry)'"))
    spec.values = {"card_number": number, "amount": amount}
    return spec


def _certificates() -> Spec:
    spec = Spec(("number", "type_code", "state", "denomination_minor", "balance_minor",
                 "activated_at", "expires_at", "store_code"))
    number = _text(spec, "number", 32, required=True)
    _text(spec, "state", 16)
    state = "coalesce(nullif(s_state, ''), 'active')"
    spec.checks.append(("state", f"{state} NOT IN ({', '.join(map(q, CERTIFICATE_STATES))})",
                        q(", ".join(CERTIFICATE_STATES))))
    face = _int(spec, "denomination_minor", minimum=1)
    balance = _int(spec, "balance_minor")
    spec.checks.append(("balance_minor", "p_balance_minor > p_denomination_minor",
                        "'more than the face value'"))
    spec.values = {"number": number, "type_code": _code(spec, "type_code"), "state": state,
                   "denomination": face, "balance": balance,
                   "activated_at": _moment(spec, "activated_at"),
                   "expires_at": _moment(spec, "expires_at"),
                   "store_code": f"nullif({_code(spec, 'store_code', required=False)}, '')"}
    return spec


def _sales() -> Spec:
    spec = Spec(("store_code", "terminal_id", "receipt_number", "card_number", "sold_at",
                 "line_no", "sku", "quantity_milli", "amount_minor", "currency"))
    number = _card(spec, required=False)
    sold = _moment(spec, "sold_at", required=True)
    spec.checks.append(("sold_at", f"{sold} > :now", "'in the future'"))
    _text(spec, "currency", 3)
    currency = "upper(coalesce(nullif(s_currency, ''), 'UAH'))"
    spec.checks.append(("currency", f"{currency} !~ '^[A-Z][A-Z][A-Z]$'", "'an ISO 4217 code'"))
    spec.values = {
        "store_code": _code(spec, "store_code"),
        "terminal_id": _text(spec, "terminal_id", 64),
        "receipt_number": _text(spec, "receipt_number", 64, required=True),
        "card_number": number, "sold_at": sold,
        "line_no": _int(spec, "line_no", minimum=1, maximum=100_000) + "::integer",
        "sku": _text(spec, "sku", 64, required=True),
        "quantity_milli": _int(spec, "quantity_milli", minimum=1),
        "amount": _int(spec, "amount_minor"), "currency": currency}
    return spec


def _contacts(spec: Spec) -> None:
    """The phone and the e-mail as members' are parsed (the pending ones decided by Python)."""
    spec.parsed["p_phone"] = "CASE WHEN s_phone <> '' THEN kopilka_ua_phone(s_phone) END"
    spec.parsed["p_email"] = r"CASE WHEN s_email ~ '^[\x21-\x7e]+$' THEN lower(s_email) END"
    spec.pending = {
        "pending_phone": "CASE WHEN s_phone <> '' AND p_phone IS NULL THEN s_phone END",
        "pending_email": "CASE WHEN s_email <> '' AND p_email IS NULL THEN s_email END"}
    spec.checks.append(
        ("email", r"p_email IS NOT NULL AND (length(p_email) > 254 OR p_email !~ "
                  r"'^[^@\s]+@[^@\s]+\.[^@\s]+$')", "'not a valid e-mail address'"))


def _orders() -> Spec:
    """Past online-store orders (the site's export), one row per order line: the order's
    fields repeat on each of its lines."""
    spec = Spec(("store_code", "number", "card_number", "phone", "email", "state", "created_at",
                 "delivery_kind", "pickup_store_code", "city", "street", "postal_code",
                 "nova_poshta_branch", "recipient_name", "recipient_phone", "comment",
                 "currency", "points_spent", "line_no", "sku", "quantity_milli",
                 "unit_price_minor", "amount_minor", "discount_minor"))
    number = _card(spec, required=False)
    _contacts(spec)
    spec.checks.append(("card_number", "p_card = '' AND s_phone = '' AND s_email = ''",
                        "'the customer: a card number, a phone or an e-mail'"))
    created = _moment(spec, "created_at", required=True)
    spec.checks.append(("created_at", f"{created} > :now", "'in the future'"))
    _text(spec, "state", 16)
    state = "coalesce(nullif(s_state, ''), 'completed')"
    spec.checks.append(("state", f"{state} NOT IN ({', '.join(map(q, ORDER_STATES))})",
                        q(", ".join(ORDER_STATES))))
    _text(spec, "delivery_kind", 16)
    delivery = "coalesce(nullif(s_delivery_kind, ''), 'pickup')"
    spec.checks.append(("delivery_kind",
                        f"{delivery} NOT IN ({', '.join(map(q, DELIVERY_KINDS))})",
                        q(", ".join(DELIVERY_KINDS))))
    _text(spec, "currency", 3)
    currency = "upper(coalesce(nullif(s_currency, ''), 'UAH'))"
    spec.checks.append(("currency", f"{currency} !~ '^[A-Z][A-Z][A-Z]$'", "'an ISO 4217 code'"))
    spec.values = {
        "store_code": _code(spec, "store_code"),
        "number": _text(spec, "number", 64, required=True),
        "card_number": number, "phone": "p_phone", "email": "p_email", "state": state,
        "created_at": created, "delivery_kind": delivery,
        "pickup_store_code": f"nullif({_code(spec, 'pickup_store_code', required=False)}, '')",
        **{name: _text(spec, name, limit) for name, limit in (
            ("city", 200), ("street", 500), ("postal_code", 16), ("nova_poshta_branch", 64),
            ("recipient_name", 200), ("recipient_phone", 20), ("comment", 1000))},
        "currency": currency,
        "points_spent": f"coalesce({_int(spec, 'points_spent', required=False)}, 0)",
        "line_no": _int(spec, "line_no", minimum=1, maximum=100_000) + "::integer",
        "sku": _text(spec, "sku", 64, required=True),
        "quantity_milli": _int(spec, "quantity_milli", minimum=1),
        "unit_price": _int(spec, "unit_price_minor"),
        "amount": _int(spec, "amount_minor"),
        "discount": f"coalesce({_int(spec, 'discount_minor', required=False)}, 0)",
        "member_id": "NULL::uuid"}
    return spec


SPECS: dict[str, Spec] = {
    "networks": _directory(), "brands": _directory(), "suppliers": _directory(),
    "product-groups": _directory(parent=True), "members": _members(), "points": _points(),
    "cash-accounts": _cash(), "certificates": _certificates(), "sales": _sales(),
    "orders": _orders()}


def raw_table(width: int) -> str:
    """The TEMP table COPY fills: the row number (header is row 1), a problem found while
    reading, the file's columns as text (c0, c1, ... in the header's order)."""
    columns = ", ".join(f"c{i} text" for i in range(width))
    return ("CREATE TEMP TABLE import_raw (rn bigint DEFAULT nextval('import_raw_rn'), "
            f"problem_field text, problem text, {columns})")


def stage_insert(kind: str, header: list[str], encoding_problem: str | None,
                 grouped: bool = False) -> str:
    """INSERT ... SELECT of import_raw into import_stage for one file; `encoding_problem`
    (the reason) when the decoder replaced bytes, which marked those rows with U+FFFD.
    `grouped` (sales of one file): a receipt's lines get the group of its first line and
    one content hash over all its lines here, by window functions, instead of an UPDATE of
    the whole stage afterwards (checks.SALES_COMMON). Parameters: :file, :now, :today."""
    spec = SPECS[kind]
    the = KINDS[kind]
    where = {name: i for i, name in enumerate(header)}  # a repeated name: its last column

    def raw(name: str) -> str:
        return (f"coalesce(btrim(r.c{where[name]}, {TRIM}), '')" if name in where
                else "''::text")

    extra = [name for name in sorted(where) if name not in spec.sources]

    def trimmed(name: str) -> str:  # at level v: each column is trimmed once
        return f"s_{name}" if name in spec.sources else f"h_{extra.index(name)}"

    digest = ", ".join(f"{q(name)} || E'\\x1f' || {trimmed(name)}" for name in sorted(where))
    problem_field, problem = "r.problem_field", "r.problem"
    if encoding_problem is not None:
        marked = "concat(" + ", ".join(f"r.c{i}" for i in range(len(header))) + ")"
        bad = f"strpos({marked}, U&'\\FFFD') > 0"
        problem_field = f"CASE WHEN {bad} THEN '(encoding)' ELSE r.problem_field END"
        problem = f"CASE WHEN {bad} THEN {q(encoding_problem)} ELSE r.problem END"
    inner = ", ".join([
        "r.rn", f"{problem_field} AS problem_field", f"{problem} AS problem",
        f"left({raw(the.id_column)}, 128) AS source_id",
        *(f"{raw(name)} AS s_{name}" for name in spec.sources),
        *(f"{raw(name)} AS h_{i}" for i, name in enumerate(extra))])
    hashed = f"sha256(convert_to(concat_ws(E'\\x1e', {digest}), 'UTF8')) AS hash"
    parsed = ", ".join(["v.*", hashed,
                        *(f"{e} AS {n}" for n, e in spec.parsed.items())])
    whens = " ".join(
        f"WHEN {cond} THEN ARRAY[{q(name)}, {reason}]" for name, cond, reason in
        [(the.id_column, "source_id = ''", "'required (the source''s own id)'"), *spec.checks])
    checked = (f"w.*, CASE WHEN problem IS NOT NULL THEN ARRAY[problem_field, problem] "
               f"{whens} END AS e, {spec.flags} AS flags")
    staged = [name for name, _ in the.columns]
    outputs = [f"CASE WHEN e IS NULL THEN {spec.values[name]} END AS {name}"
               for name in staged]
    outputs += [f"CASE WHEN e IS NULL THEN {e} END AS {n}" for n, e in spec.pending.items()]
    names = ["rn", "grp", "file", "source_id", "hash", "flags", "reject_field",
             "reject_reason", *staged, *spec.pending]
    select = ("SELECT rn, rn AS grp, :file AS file, source_id, hash, "
              "CASE WHEN e IS NULL THEN flags ELSE '{}'::text[] END AS flags, "
              "e[1] AS reject_field, e[2] AS reject_reason, "
              f"{', '.join(outputs)} FROM (SELECT {checked} FROM (SELECT {parsed} FROM "
              f"(SELECT {inner} FROM import_raw r OFFSET 0) v OFFSET 0) w OFFSET 0) x")
    if grouped:
        picked = ", ".join({
            "grp": "min(t.rn) OVER lines",
            "hash": "sha256(string_agg(t.hash, ''::bytea) OVER lines)"}.get(n, f"t.{n}")
            for n in names)
        # one window (one sort): the whole receipt is every line's frame
        select = (f"SELECT {picked} FROM ({select}) t WINDOW lines AS (PARTITION BY "
                  "t.source_id ORDER BY t.line_no, t.rn ROWS BETWEEN UNBOUNDED PRECEDING AND "
                  "UNBOUNDED FOLLOWING)")
    return f"INSERT INTO import_stage ({', '.join(names)}) {select}"
