"""The console's words in Ukrainian and English: a small catalogue, no gettext machinery.

The language is the user's choice (the `lang` cookie), else the browser's Accept-Language,
else Ukrainian. A key missing from a language falls back to English, then to the key.
"""

from __future__ import annotations

LANGUAGES = ("uk", "en")
DEFAULT = "uk"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "title": "Kopilka console", "login": "Sign in", "logout": "Sign out",
        "email": "E-mail", "password": "Password", "totp": "Code from the app (if enrolled)",
        "login_failed": "Wrong e-mail, password or code.", "members": "Members",
        "dashboard": "Dashboard", "rules": "Rule set", "search": "Search",
        "search_hint": "Phone (any notation), card number, e-mail or last name",
        "no_results": "Nobody found.", "next_page": "Next page", "name": "Name",
        "phone": "Phone", "cards": "Cards", "card": "Card", "state": "State",
        "block": "Block", "replace": "Replace", "reason": "Reason", "vip": "VIP",
        "mark_vip": "Mark VIP", "unmark_vip": "Remove VIP", "points": "Points",
        "adjust_points": "Adjust points", "reason_code": "Reason code", "apply": "Apply",
        "balance": "Balance", "cash": "Cash account", "purchases": "Purchases",
        "ledger": "Points ledger", "lots": "Lots", "messages": "Messages", "audit": "Changes",
        "profile": "Profile", "first_name": "First name", "last_name": "Last name",
        "source": "Source of the change", "save": "Save", "when": "When", "amount": "Amount",
        "store": "Store", "receipt": "Receipt", "total": "Total", "discount": "Discount",
        "lines": "Lines", "left": "Left", "expires": "Expires", "channel": "Channel",
        "who": "Who", "action": "Action", "forbidden": "You have no permission for this.",
        "not_found": "Not found.", "period_from": "From", "period_to": "To", "show": "Show",
        "sales_card": "Sales with a card", "sales_nocard": "Sales without a card",
        "discounts": "Discounts given", "points_accrued": "Points accrued",
        "points_spent": "Points spent", "points_outstanding": "Points held by members",
        "points_expiring": "Points expiring in 30 days",
        "certs_outstanding": "Certificates outstanding", "sms_sent": "SMS sent",
        "sms_cost": "SMS cost", "active_rules": "Active rule set", "history": "History",
        "upload": "Rule set document (YAML or JSON)", "preview": "Preview the difference",
        "diff": "Difference against the active rule set", "format": "Format",
        "errors": "The document has errors", "applied": "Applied version", "version": "Version",
        "rule_count": "Rules", "done": "Done.", "pending_approval":
        "Waiting for a second person's approval.", "language": "Language",
        "main": "Main content", "kind": "Kind", "nothing": "Nothing yet.",
        "stores": "Stores", "card_types": "Card types", "certificate_types":
        "Certificate types", "mailings": "Mailings", "audit_log": "Audit log",
        "api_keys": "API keys", "users": "Users", "roles": "Roles",
        "pending": "Waiting for approval", "certificates": "Certificates",
        "certificate_usage": "Certificate usage", "approve": "Approve", "reject": "Reject",
        "revoke": "Revoke", "csv": "Download CSV", "number": "Number", "filter": "Filter",
        "reissue": "Reissue", "bonus_rules": "Bonus rules", "line": "line",
        "points_by_rule": "Points accrued by bonus rule", "disable": "Disable",
        "new_user": "New user", "new_key": "New API key",
        "add_or_change": "Add or change (by code)", "issue_batch": "Issue a batch",
        "count": "How many", "issue": "Issue", "batch": "Issued certificates",
        "secret_once": "The key's secret, shown this once: store it now.",
    },
    "uk": {
        "title": "Консоль Копілки", "login": "Увійти", "logout": "Вийти",
        "email": "Ел. пошта", "password": "Пароль", "totp": "Код із застосунку (якщо є)",
        "login_failed": "Неправильна пошта, пароль або код.", "members": "Учасники",
        "dashboard": "Огляд", "rules": "Правила", "search": "Пошук",
        "search_hint": "Телефон (у будь-якому записі), номер картки, пошта або прізвище",
        "no_results": "Нікого не знайдено.", "next_page": "Наступна сторінка", "name": "Ім'я",
        "phone": "Телефон", "cards": "Картки", "card": "Картка", "state": "Стан",
        "block": "Заблокувати", "replace": "Замінити", "reason": "Причина", "vip": "VIP",
        "mark_vip": "Позначити VIP", "unmark_vip": "Зняти VIP", "points": "Бали",
        "adjust_points": "Змінити бали", "reason_code": "Код причини", "apply": "Застосувати",
        "balance": "Баланс", "cash": "Грошовий рахунок", "purchases": "Покупки",
        "ledger": "Рух балів", "lots": "Партії балів", "messages": "Повідомлення",
        "audit": "Зміни", "profile": "Анкета", "first_name": "Ім'я",
        "last_name": "Прізвище", "source": "Джерело зміни", "save": "Зберегти",
        "when": "Коли", "amount": "Сума", "store": "Магазин", "receipt": "Чек",
        "total": "Разом", "discount": "Знижка", "lines": "Рядки", "left": "Залишок",
        "expires": "Згорає", "channel": "Канал", "who": "Хто", "action": "Дія",
        "forbidden": "У вас немає на це права.", "not_found": "Не знайдено.",
        "period_from": "З", "period_to": "По", "show": "Показати",
        "sales_card": "Продажі з карткою", "sales_nocard": "Продажі без картки",
        "discounts": "Надані знижки", "points_accrued": "Нараховано балів",
        "points_spent": "Списано балів", "points_outstanding": "Бали на рахунках учасників",
        "points_expiring": "Бали, що згорять за 30 днів",
        "certs_outstanding": "Непогашені сертифікати", "sms_sent": "Надіслано SMS",
        "sms_cost": "Вартість SMS", "active_rules": "Чинні правила", "history": "Історія",
        "upload": "Документ правил (YAML або JSON)", "preview": "Показати різницю",
        "diff": "Різниця з чинними правилами", "format": "Формат",
        "errors": "У документі є помилки", "applied": "Застосовано версію",
        "version": "Версія", "rule_count": "Правил", "done": "Готово.",
        "pending_approval": "Чекає на схвалення другою людиною.", "language": "Мова",
        "main": "Основний вміст", "kind": "Вид", "nothing": "Поки нічого.",
        "stores": "Магазини", "card_types": "Типи карток", "certificate_types":
        "Типи сертифікатів", "mailings": "Розсилки", "audit_log": "Журнал змін",
        "api_keys": "Ключі API", "users": "Користувачі", "roles": "Ролі",
        "pending": "Чекають схвалення", "certificates": "Сертифікати",
        "certificate_usage": "Використання сертифікатів", "approve": "Схвалити",
        "reject": "Відхилити", "revoke": "Відкликати", "csv": "Завантажити CSV",
        "number": "Номер", "filter": "Відібрати", "reissue": "Перевипустити",
        "bonus_rules": "Бонусні правила", "line": "рядок",
        "points_by_rule": "Бали за бонусними правилами", "disable": "Вимкнути",
        "new_user": "Новий користувач", "new_key": "Новий ключ API",
        "add_or_change": "Додати або змінити (за кодом)",
        "issue_batch": "Випустити партію", "count": "Скільки", "issue": "Випустити",
        "batch": "Випущені сертифікати",
        "secret_once": "Секрет ключа показано лише цей раз: збережіть його зараз.",
    },
}


# Online orders, their payments and waybills, and a member's certificates (enum words are
# looked up as prefix + word: os_ order states, ls_ line states, rs_ store requests, la_ line
# answers, dk_ delivery, pm_ payment methods, ps_ payment states, ce_ certificate entries,
# cs_ certificate states; a word with no entry shows as itself).
MESSAGES["en"].update({
    "orders": "Orders", "order": "Order", "any": "Any", "line_no": "Line", "placed_at": "Placed",
    "updated_at": "Changed", "member": "Member", "delivery": "Delivery",
    "comment": "Comment", "subtotal": "Subtotal", "points_reserved": "Points reserved",
    "quantity": "Quantity", "price": "Price", "points_paid": "Paid with points",
    "promotions": "Promotions", "cancel_line": "Cancel the line",
    "line_quantity": "Change the quantity", "line_replace": "Replace with another product",
    "line_split": "Split", "split_quantity": "Quantity to the new line",
    "return_lines": "Return", "returnable": "can be returned:",
    "store_requests": "Requests to stores", "round": "Round", "deadline": "Answer by",
    "answered": "Answered", "answer": "Answer", "payments": "Payments",
    "payment_state": "Payment", "entity": "Legal entity", "method": "Method",
    "refunded": "Refunded", "provider": "Provider's status", "waybills": "Waybills",
    "status_code": "Status code", "cod": "Cash on delivery",
    "order_confirm": "Confirm", "order_complete": "Hand over", "order_cancel": "Cancel the order",
    "os_placed": "placed", "os_confirmed": "confirmed", "os_completed": "completed",
    "os_cancelled": "cancelled", "os_returned": "returned",
    "ls_open": "open", "ls_confirmed": "confirmed", "ls_cancelled": "cancelled",
    "ls_returned": "returned",
    "rs_pending": "waiting", "rs_answered": "answered", "rs_expired": "no answer in time",
    "rs_closed": "closed",
    "la_unspecified": "not answered", "la_confirmed": "confirmed", "la_partly": "partly",
    "la_refused": "refused",
    "dk_pickup": "pickup", "dk_courier": "courier", "dk_nova_poshta": "Nova Poshta",
    "pm_certificate": "certificate", "pm_points": "points", "pm_cash_account": "cash account",
    "pm_card": "card", "pm_installments": "installments",
    "pm_cash_on_delivery": "cash on delivery",
    "ps_unpaid": "unpaid", "ps_pending": "pending", "ps_paid": "paid", "ps_failed": "failed",
    "ps_reversed": "reversed", "ps_cancelled": "cancelled",
    "ce_issue": "issued", "ce_redeem": "spent", "ce_forfeit": "remainder forfeited",
    "ce_refund": "refunded", "ce_expire": "expired", "ce_reissue_out": "reissued (old)",
    "ce_reissue_in": "reissued (new)", "ce_block": "blocked",
    "cs_new": "new", "cs_active": "active", "cs_redeemed": "used up", "cs_expired": "expired",
    "cs_blocked": "blocked", "cs_closed": "closed",
})
MESSAGES["uk"].update({
    "orders": "Замовлення", "order": "Замовлення", "any": "Будь-який", "line_no": "Рядок",
    "placed_at": "Створено",
    "updated_at": "Змінено", "member": "Учасник", "delivery": "Доставка",
    "comment": "Коментар", "subtotal": "Сума без знижок",
    "points_reserved": "Зарезервовано балів",
    "quantity": "Кількість", "price": "Ціна", "points_paid": "Оплачено балами",
    "promotions": "Акції", "cancel_line": "Скасувати рядок",
    "line_quantity": "Змінити кількість", "line_replace": "Замінити іншим товаром",
    "line_split": "Розділити", "split_quantity": "Кількість у новий рядок",
    "return_lines": "Повернути", "returnable": "можна повернути:",
    "store_requests": "Запити до магазинів", "round": "Коло", "deadline": "Відповісти до",
    "answered": "Відповідь надано", "answer": "Відповідь", "payments": "Оплати",
    "payment_state": "Оплата", "entity": "Юридична особа", "method": "Спосіб",
    "refunded": "Повернено", "provider": "Стан у провайдера", "waybills": "Накладні",
    "status_code": "Код стану", "cod": "Накладений платіж",
    "order_confirm": "Підтвердити", "order_complete": "Видати",
    "order_cancel": "Скасувати замовлення",
    "os_placed": "нове", "os_confirmed": "підтверджене", "os_completed": "видане",
    "os_cancelled": "скасоване", "os_returned": "повернене",
    "ls_open": "чекає", "ls_confirmed": "підтверджений", "ls_cancelled": "скасований",
    "ls_returned": "повернений",
    "rs_pending": "чекає відповіді", "rs_answered": "відповів", "rs_expired": "не відповів вчасно",
    "rs_closed": "закритий",
    "la_unspecified": "без відповіді", "la_confirmed": "є", "la_partly": "частково",
    "la_refused": "немає",
    "dk_pickup": "самовивіз", "dk_courier": "кур'єр", "dk_nova_poshta": "Нова пошта",
    "pm_certificate": "сертифікат", "pm_points": "бали", "pm_cash_account": "грошовий рахунок",
    "pm_card": "картка", "pm_installments": "розстрочка",
    "pm_cash_on_delivery": "накладений платіж",
    "ps_unpaid": "не оплачено", "ps_pending": "очікує", "ps_paid": "оплачено",
    "ps_failed": "не вдалося", "ps_reversed": "повернено", "ps_cancelled": "скасовано",
    "ce_issue": "випущено", "ce_redeem": "витрачено", "ce_forfeit": "залишок згорів",
    "ce_refund": "повернено", "ce_expire": "термін минув",
    "ce_reissue_out": "перевипущено (старий)",
    "ce_reissue_in": "перевипущено (новий)", "ce_block": "заблоковано",
    "cs_new": "новий", "cs_active": "чинний", "cs_redeemed": "використаний",
    "cs_expired": "прострочений", "cs_blocked": "заблокований", "cs_closed": "закритий",
})

# Campaigns (cp_ campaign states, ms_ mailing states).
MESSAGES["en"].update({
    "campaigns": "Campaigns", "recipients": "Recipients", "skipped": "Left out",
    "campaign_start": "Start sending",
    "start_at": "At (UTC; blank: now)", "campaign_pause": "Pause",
    "campaign_resume": "Resume", "campaign_cancel": "Cancel the campaign",
    "estimated_parts": "SMS parts estimated", "estimated_cost": "Estimated cost",
    "delivered_cost": "Cost delivered", "template": "Template", "scheduled": "Scheduled for",
    "delivery_counts": "Recipients by delivery state",
    "cp_draft": "draft", "cp_scheduled": "scheduled", "cp_running": "sending",
    "cp_paused": "paused", "cp_completed": "completed", "cp_cancelled": "cancelled",
    "ms_queued": "queued", "ms_sent": "sent", "ms_delivered": "delivered",
    "ms_undeliverable": "undeliverable", "ms_failed": "failed",
    "discounts_by_rule": "Discounts given by rule", "other_rules": "Other rules",
    "discounts_unsplit": "Not recorded by rule",
})
MESSAGES["uk"].update({
    "campaigns": "Кампанії", "recipients": "Отримувачі", "skipped": "Пропущено",
    "campaign_start": "Почати надсилання",
    "start_at": "О (UTC; порожньо: зараз)", "campaign_pause": "Призупинити",
    "campaign_resume": "Продовжити", "campaign_cancel": "Скасувати кампанію",
    "estimated_parts": "Частин SMS (оцінка)", "estimated_cost": "Вартість (оцінка)",
    "delivered_cost": "Вартість доставлених", "template": "Шаблон",
    "scheduled": "Заплановано на", "delivery_counts": "Отримувачі за станом доставки",
    "cp_draft": "чернетка", "cp_scheduled": "запланована", "cp_running": "надсилається",
    "cp_paused": "призупинена", "cp_completed": "завершена", "cp_cancelled": "скасована",
    "ms_queued": "у черзі", "ms_sent": "надіслано", "ms_delivered": "доставлено",
    "ms_undeliverable": "не доставити", "ms_failed": "помилка",
    "discounts_by_rule": "Знижки за правилами", "other_rules": "Інші правила",
    "discounts_unsplit": "Без розбивки за правилами",
})

# The order page's asking stores, alternatives and exchange (st_ settlements).
MESSAGES["en"].update({
    "ask_stores": "Ask stores", "ask_hint": "The store asked about each open line (blank: "
    "not asked; all blank: the allocation picks). Proposed: the store the allocation picks.",
    "in_stock": "In stock", "nowhere": "nowhere", "deadline_minutes": "Answer within, minutes",
    "offer_alternatives": "Offer alternatives", "alternatives_max": "At most",
    "price_band": "Price band, %", "notify_customer": "Send the links to the customer",
    "alternatives_for": "Alternatives offered for line", "link": "Link",
    "no_alternatives": "Nothing in stock fits.", "exchange": "Exchange",
    "new_line": "New line", "settlement": "Difference settled by",
    "certificate_number": "Certificate number (for a certificate)",
    "st_points": "points", "st_cash_account": "cash account", "st_payment": "payment",
    "st_certificate": "gift certificate",
})
MESSAGES["uk"].update({
    "ask_stores": "Запитати магазини", "ask_hint": "Магазин, який запитати про кожен "
    "відкритий рядок (порожньо: не питати; усі порожні: вибере розподіл). Запропоновано: "
    "магазин, який вибирає розподіл.",
    "in_stock": "Є в наявності", "nowhere": "ніде",
    "deadline_minutes": "Відповісти протягом, хвилин",
    "offer_alternatives": "Запропонувати заміну", "alternatives_max": "Не більше",
    "price_band": "Відхилення ціни, %", "notify_customer": "Надіслати посилання покупцеві",
    "alternatives_for": "Запропоновано заміну для рядка", "link": "Посилання",
    "no_alternatives": "Нічого підхожого немає в наявності.", "exchange": "Обміняти",
    "new_line": "Новий рядок", "settlement": "Різницю розрахувати",
    "certificate_number": "Номер сертифіката (для сертифіката)",
    "st_points": "балами", "st_cash_account": "з грошового рахунку", "st_payment": "оплатою",
    "st_certificate": "подарунковим сертифікатом",
})

# The dashboard's points by rule: lots no bonus rule gave, by what made them (lot_ + rule id).
MESSAGES["en"].update({
    "lot_-": "Without a rule", "lot_manual": "Manual adjustments", "lot_list": "Accrued by list",
    "lot_conversion": "Converted from cash", "lot_survey": "Surveys",
    "lot_order_exchange": "Order exchanges", "lot_order_payment_refund": "Order refunds",
})
MESSAGES["uk"].update({
    "lot_-": "Без правила", "lot_manual": "Ручні коригування",
    "lot_list": "Нараховано списком", "lot_conversion": "Переведено з грошей",
    "lot_survey": "Опитування", "lot_order_exchange": "Обміни замовлень",
    "lot_order_payment_refund": "Повернення за замовленнями",
})


# Roles: the list page's forms (create, edit, delete), the rights grouped by object type.
MESSAGES["en"].update({
    "role_new": "New role", "role_edit": "Edit the role", "role_name": "Code",
    "role_description": "What it is for", "role_grants": "Rights by object type",
    "role_scope": "Scope", "role_fields": "Member fields its holders see",
    "role_mask_phone": "Mask the phone", "role_delete": "Delete", "role_change": "Edit",
    "role_refused": "Refused; nothing was changed.",
    "role_scope_all": "every key", "role_scope_network": "keys of a store or a network",
    "role_scope_own_store": "keys of a store",
})
MESSAGES["uk"].update({
    "role_new": "Нова роль", "role_edit": "Змінити роль", "role_name": "Код",
    "role_description": "Для чого вона", "role_grants": "Права за видами об'єктів",
    "role_scope": "Область", "role_fields": "Поля учасника, які бачать її власники",
    "role_mask_phone": "Маскувати телефон", "role_delete": "Видалити", "role_change": "Змінити",
    "role_refused": "Відмовлено; нічого не змінено.",
    "role_scope_all": "будь-який ключ", "role_scope_network": "ключі магазину або мережі",
    "role_scope_own_store": "ключі магазину",
})


def choose(cookie: str | None, accept_language: str) -> str:
    """The page's language: the user's cookie, else the first known one the browser asks for."""
    if cookie in LANGUAGES:
        return cookie
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT


def translator(lang: str) -> dict[str, str]:
    return {**MESSAGES["en"], **MESSAGES.get(lang, {})}
