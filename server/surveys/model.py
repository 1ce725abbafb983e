"""Survey definitions, their validation, the branching walk, answers and results.

Pure domain: no SQL, HTTP or gRPC. A definition is validated as a whole so the caller sees
every bad field at once; answers are checked against the path the respondent actually took
(a question skipped by a branch is neither required nor stored).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from server.errors import DomainError, ErrorKind, Violations

CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
END = "end"
MAX_QUESTIONS = 100
MAX_OPTIONS = 50
MAX_TEXT_ANSWER = 2000
NPS_MIN, NPS_MAX = 0, 10
MAX_REWARD_POINTS = 1_000_000


class Kind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    SCALE = "scale"
    NPS = "nps"
    TEXT = "text"
    DATE = "date"


BRANCHING = {Kind.SINGLE, Kind.SCALE, Kind.NPS}


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    kind: Kind
    text: str
    required: bool = False
    options: tuple[Option, ...] = ()
    scale_min: int = 0
    scale_max: int = 0
    branches: tuple[tuple[str, str], ...] = ()  # (answer, goto question id or END)

    def values(self) -> list[str]:
        """The answer values counted in results, in display order."""
        if self.kind in (Kind.SINGLE, Kind.MULTIPLE):
            return [o.value for o in self.options]
        if self.kind is Kind.SCALE:
            return [str(v) for v in range(self.scale_min, self.scale_max + 1)]
        if self.kind is Kind.NPS:
            return [str(v) for v in range(NPS_MIN, NPS_MAX + 1)]
        return []


@dataclass(frozen=True, slots=True)
class Branding:
    logo_url: str = ""
    primary_color: str = "#1f6feb"
    background_color: str = "#ffffff"


@dataclass(frozen=True, slots=True)
class Survey:
    code: str
    title: str
    questions: tuple[Question, ...]
    branding: Branding = field(default_factory=Branding)
    reward_points: int = 0
    reward_promotion_id: str = ""
    active: bool = True
    version: int = 0
    updated_at: dt.datetime | None = None

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


def validate(s: Survey) -> None:
    """Every bad field of a definition at once (INVALID_ARGUMENT, reason SURVEY_INVALID)."""
    v = Violations()
    if not CODE.match(s.code):
        v.add("survey.code", "1 to 64 letters, digits, _ or -")
    if not s.title.strip():
        v.add("survey.title", "required")
    if not s.questions:
        v.add("survey.questions", "at least one question")
    if len(s.questions) > MAX_QUESTIONS:
        v.add("survey.questions", f"at most {MAX_QUESTIONS}")
    b = s.branding
    if b.logo_url and not b.logo_url.startswith("https://"):
        v.add("survey.branding.logo_url", "an https:// URL")
    for name in ("primary_color", "background_color"):
        if not COLOR.match(getattr(b, name)):
            v.add(f"survey.branding.{name}", "a colour as #rrggbb")
    if not 0 <= s.reward_points <= MAX_REWARD_POINTS:
        v.add("survey.reward_points", f"0 to {MAX_REWARD_POINTS}")
    if s.reward_points and s.reward_promotion_id:
        v.add("survey.reward_coupon_promotion_id", "one reward: points or a coupon")
    ids = [q.id for q in s.questions]
    for i, q in enumerate(s.questions):
        at = f"survey.questions[{i}]"
        if not CODE.match(q.id) or q.id == END:
            v.add(f"{at}.question_id", "1 to 64 letters, digits, _ or - (not 'end')")
        elif ids.index(q.id) != i:
            v.add(f"{at}.question_id", "used by an earlier question")
        if not q.text.strip():
            v.add(f"{at}.text", "required")
        choice = q.kind in (Kind.SINGLE, Kind.MULTIPLE)
        if choice:
            if not 1 <= len(q.options) <= MAX_OPTIONS:
                v.add(f"{at}.options", f"1 to {MAX_OPTIONS} options")
            seen: set[str] = set()
            for j, o in enumerate(q.options):
                if not CODE.match(o.value) or o.value in seen:
                    v.add(f"{at}.options[{j}].value", "unique; letters, digits, _ or -")
                seen.add(o.value)
                if not o.label.strip():
                    v.add(f"{at}.options[{j}].label", "required")
        elif q.options:
            v.add(f"{at}.options", "only for single and multiple choice")
        if q.kind is Kind.SCALE and not (0 <= q.scale_min < q.scale_max <= 100):
            v.add(f"{at}.scale_max", "0 <= scale_min < scale_max <= 100")
        if q.branches and q.kind not in BRANCHING:
            v.add(f"{at}.branches", "only single choice, scale and NPS questions branch")
        values = q.values()
        for j, (answer, goto) in enumerate(q.branches):
            if answer not in values:
                v.add(f"{at}.branches[{j}].answer", "not an answer of this question")
            if goto != END and goto not in ids[i + 1:]:
                v.add(f"{at}.branches[{j}].goto_question_id",
                      "a later question of this survey, or 'end'")
    v.raise_if_any("SURVEY_INVALID")


Answer = str | list[str]


def _check(q: Question, raw: list[str], v: Violations) -> Answer | None:
    """The answer to store for `q` from the submitted values, or None when unanswered."""
    at = f"answers.{q.id}"
    given = [x.strip() for x in raw if x.strip()]
    if not given:
        if q.required:
            v.add(at, "required")
        return None
    if q.kind is Kind.MULTIPLE:
        allowed = set(q.values())
        if any(x not in allowed for x in given) or len(set(given)) != len(given):
            v.add(at, "choose among the options")
            return None
        return [x for x in q.values() if x in given]
    if len(given) != 1:
        v.add(at, "one answer")
        return None
    one = given[0]
    if q.kind in (Kind.SINGLE, Kind.SCALE, Kind.NPS):
        if one not in q.values():
            v.add(at, "choose among the options")
            return None
    elif q.kind is Kind.DATE:
        try:
            dt.date.fromisoformat(one)
        except ValueError:
            v.add(at, "a date as YYYY-MM-DD")
            return None
    elif len(one) > MAX_TEXT_ANSWER:
        v.add(at, f"at most {MAX_TEXT_ANSWER} characters")
        return None
    return one


def next_question(s: Survey, q: Question, answer: Answer | None) -> str | None:
    """The id of the question after `q` given its answer (None: the survey ends)."""
    if isinstance(answer, str):
        for when, goto in q.branches:
            if when == answer:
                return None if goto == END else goto
    i = s.questions.index(q)
    return s.questions[i + 1].id if i + 1 < len(s.questions) else None


def accept(s: Survey, submitted: dict[str, list[str]]) -> dict[str, Answer]:
    """The answers along the path the branches take (INVALID_ARGUMENT per bad answer)."""
    v = Violations()
    answers: dict[str, Answer] = {}
    current: str | None = s.questions[0].id if s.questions else None
    while current is not None:
        q = s.question(current)
        assert q is not None  # validate() allows only existing, later targets
        answer = _check(q, submitted.get(q.id, []), v)
        if answer is not None:
            answers[q.id] = answer
        current = next_question(s, q, answer)
    v.raise_if_any("SURVEY_ANSWER_INVALID")
    return answers


def nps(counts: dict[str, int]) -> str:
    """%promoters (9-10) - %detractors (0-6) in integers, shown with two decimals."""
    total = sum(counts.get(str(v), 0) for v in range(NPS_MIN, NPS_MAX + 1))
    if total == 0:
        return ""
    promoters = counts.get("9", 0) + counts.get("10", 0)
    detractors = sum(counts.get(str(v), 0) for v in range(0, 7))
    # hundredths of a point, rounded half away from zero, in integers only
    num = (promoters - detractors) * 10_000
    sign = -1 if num < 0 else 1
    hundredths = sign * ((abs(num) * 2 + total) // (2 * total))
    whole, frac = divmod(abs(hundredths), 100)
    return f"{'-' if hundredths < 0 else ''}{whole}.{frac:02d}"


# --- invitations: signed links whose state (used, expiry) lives in the database -----------

TOKEN_PURPOSE = "survey-invitation"
CSRF_PURPOSE = "survey-csrf"
CSRF_SECONDS = 4 * 3600


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _mac(key: bytes, message: str) -> str:
    return _b64(hmac.new(key, message.encode(), hashlib.sha256).digest()[:16])


def invitation_token(key: bytes, invitation_id: uuid.UUID) -> str:
    """The link's token: the invitation id and its MAC (nothing personal in the link)."""
    return f"{invitation_id.hex}.{_mac(key, invitation_id.hex)}"


def parse_invitation(key: bytes, token: str) -> uuid.UUID | None:
    """The invitation id of a genuine token, else None."""
    message, _, mac = token.partition(".")
    if len(message) != 32 or not hmac.compare_digest(_mac(key, message), mac):
        return None
    try:
        return uuid.UUID(hex=message)
    except ValueError:
        return None


def csrf_token(key: bytes, path: str, now: dt.datetime) -> str:
    """A form token bound to the page's path and the time it was shown."""
    stamp = str(int(now.timestamp()))
    return f"{stamp}.{_mac(key, path + chr(0) + stamp)}"


def csrf_ok(key: bytes, path: str, token: str, now: dt.datetime) -> bool:
    stamp, _, mac = token.partition(".")
    if not stamp.isdigit() or not hmac.compare_digest(_mac(key, path + chr(0) + stamp), mac):
        return False
    return 0 <= now.timestamp() - int(stamp) <= CSRF_SECONDS


def refused(reason: str, message: str) -> DomainError:
    """An answer that cannot be taken (used or expired invitation, second completion)."""
    return DomainError(ErrorKind.FAILED_PRECONDITION, reason, message)
