"""What the customer is told when an order changes state: one template per state and
language, sent as SMS (or e-mail when the member has no phone) through the outbox, so it
shows in the mailing history. Placeholders: {number} (the shop's order number, or the id),
{total} (hryvnias and kopecks), {points}.
"""

from __future__ import annotations

from server.orders.model import Order, OrderState

LANGUAGES = ("uk", "en")
DEFAULT_LANGUAGE = "uk"

TEMPLATES: dict[OrderState, dict[str, tuple[str, str]]] = {  # state -> lang -> (subject, text)
    OrderState.PLACED: {
        "uk": ("Замовлення {number} прийнято",
               "Замовлення {number} прийнято на суму {total} грн. Бонусів зарезервовано: "
               "{points}."),
        "en": ("Order {number} received",
               "Order {number} received, total {total} UAH. Points reserved: {points}."),
    },
    OrderState.CONFIRMED: {
        "uk": ("Замовлення {number} підтверджено",
               "Замовлення {number} підтверджено магазином і готується до видачі."),
        "en": ("Order {number} confirmed",
               "Order {number} is confirmed by the store and being prepared."),
    },
    OrderState.COMPLETED: {
        "uk": ("Замовлення {number} видано",
               "Замовлення {number} видано. Дякуємо! Нараховано бонусів: {points}."),
        "en": ("Order {number} handed over",
               "Order {number} handed over. Thank you! Points earned: {points}."),
    },
    OrderState.CANCELLED: {
        "uk": ("Замовлення {number} скасовано",
               "Замовлення {number} скасовано. Зарезервовані бонуси повернуто."),
        "en": ("Order {number} cancelled",
               "Order {number} is cancelled. Reserved points are back on your account."),
    },
    OrderState.RETURNED: {
        "uk": ("Повернення за замовленням {number}",
               "Товари замовлення {number} повернуто."),
        "en": ("Order {number} returned", "The items of order {number} are returned."),
    },
}


def render(order: Order, language: str) -> tuple[str, str]:
    """(subject, text) for the order's current state in `language` (Ukrainian otherwise)."""
    by_language = TEMPLATES[order.state]
    subject, text = by_language.get(language) or by_language[DEFAULT_LANGUAGE]
    points = (order.points_accrued if order.state is OrderState.COMPLETED
              else order.points_reserved)
    values = {"number": order.external_number or str(order.id),
              "total": f"{order.total // 100}.{order.total % 100:02d}", "points": points}
    return subject.format(**values), text.format(**values)


#: the alternatives message: {number}, {sku} (the missing line's), {links} (one per line)
OFFER_TEMPLATES: dict[str, tuple[str, str]] = {
    "uk": ("Заміна у замовленні {number}",
           "Товару {sku} із замовлення {number} немає. Оберіть заміну:\n{links}"),
    "en": ("A replacement for order {number}",
           "Item {sku} of order {number} is out of stock. Choose a replacement:\n{links}"),
}


def render_offer(order: Order, sku: str, links: list[str]) -> tuple[str, str]:
    subject, text = OFFER_TEMPLATES.get(order.language) or OFFER_TEMPLATES[DEFAULT_LANGUAGE]
    values = {"number": order.external_number or str(order.id), "sku": sku,
              "links": "\n".join(links)}
    return subject.format(**values), text.format(**values)
