"""One test per item of the seed's "Calculation and provision of discounts" section.

Amounts are kopecks; every expected value is worked out by hand in the comments.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pricing_helpers import KYIV, discounts, price, receipt, rules

from server.pricing import MemberContext, PurchaseAggregate, RuleSetError, load_rule_set

COMPETING = """
groups:
  - {{id: dairy, resolution: {resolution}}}
rules:
  - id: dairy-10
    group: dairy
    priority: 10
    target: [{{groups: [dairy]}}]
    benefit: {{type: percent, percent: "10%"}}
  - id: milk-20
    group: dairy
    priority: 20
    target: [{{skus: [milk]}}]
    benefit: {{type: percent, percent: "20%"}}
"""


def test_competing_rules_by_priority() -> None:
    rs = rules(COMPETING.format(resolution="priority"))
    # milk 2 x 30.00 = 6000, kefir 25.00. dairy-10 (priority 10) wins both lines:
    # 10% of 6000 = 600, 10% of 2500 = 250; milk-20 finds milk already taken.
    result = price(rs, receipt(("milk", 2000, 3000), ("kefir", 1000, 2500)))
    assert discounts(result) == {1: [("dairy-10", 600)], 2: [("dairy-10", 250)]}
    assert result.total == 7650


def test_competing_rules_by_maximum_discount() -> None:
    rs = rules(COMPETING.format(resolution="max_discount"))
    # offers: dairy-10 = 600 + 250 = 850, milk-20 = 20% of 6000 = 1200 -> milk-20 wins milk;
    # next round dairy-10 only has kefir left: 250.
    result = price(rs, receipt(("milk", 2000, 3000), ("kefir", 1000, 2500)))
    assert discounts(result) == {1: [("milk-20", 1200)], 2: [("dairy-10", 250)]}
    assert result.total == 8500 - 1450


STACKING = """
groups:
  - {{id: items, order: 1}}
  - {{id: receipt, order: 2}}
rules:
  - id: milk-10
    group: items
    exclusive: {exclusive}
    target: [{{skus: [milk]}}]
    benefit: {{type: percent, percent: 1000}}
  - id: all-5
    group: receipt
    benefit: {{type: percent, percent: 500, scope: receipt}}
"""


def test_exclusive_rule_is_not_combined() -> None:
    rs = rules(STACKING.format(exclusive="true"))
    # milk 3000 -> 300 (exclusive, line locked); receipt 5% only on bread: 5% of 2000 = 100.
    result = price(rs, receipt(("milk", 1000, 3000), ("bread", 1000, 2000)))
    assert discounts(result) == {1: [("milk-10", 300)], 2: [("all-5", 100)]}
    assert result.total == 4600


def test_combinable_rules_stack_on_what_is_left() -> None:
    rs = rules(STACKING.format(exclusive="false"))
    # milk 3000 - 300 = 2700; 5% of (2700 + 2000) = 235, split 2700:2000 -> 135 + 100.
    result = price(rs, receipt(("milk", 1000, 3000), ("bread", 1000, 2000)))
    assert discounts(result) == {1: [("milk-10", 300), ("all-5", 135)], 2: [("all-5", 100)]}
    assert result.total == 4465


def test_validity_static_date_range() -> None:
    rs = rules("""
rules:
  - id: march
    validity: {start: 2025-03-01, end: 2025-03-31}
    target: [{skus: [bread]}]
    benefit: {type: percent, percent: "10%"}
""")

    def bread_discount(moment: datetime) -> int:
        return price(rs, receipt(("bread", 1000, 2000), time=moment)).discount_total

    # a date covers the whole local day at both ends: 10% of 2000 = 200
    assert bread_discount(datetime(2025, 3, 1, 0, 0, tzinfo=KYIV)) == 200
    assert bread_discount(datetime(2025, 3, 31, 23, 59, tzinfo=KYIV)) == 200
    assert bread_discount(datetime(2025, 2, 28, 23, 59, tzinfo=KYIV)) == 0
    assert bread_discount(datetime(2025, 4, 1, 0, 0, tzinfo=KYIV)) == 0


def test_validity_days_from_first_promotional_purchase() -> None:
    rs = rules("""
rules:
  - id: welcome-bread
    promotion: welcome
    validity: {days_from_first_purchase: 30}
    target: [{skus: [bread]}]
    benefit: {type: percent, percent: "10%"}
""")
    assert rs.tracked_promotions == frozenset({"welcome"})

    def bread_discount(member: MemberContext | None) -> int:
        return price(rs, receipt(("bread", 1000, 2000), member=member)).discount_total

    # receipt is 2025-03-03; first purchase 2025-02-10 + 30 days = 2025-03-12 -> still valid
    assert (
        bread_discount(MemberContext("m", first_promo_purchase={"welcome": date(2025, 2, 10)}))
        == 200
    )
    # 2025-02-01 + 30 days = 2025-03-03 -> expired that very day
    assert (
        bread_discount(MemberContext("m", first_promo_purchase={"welcome": date(2025, 2, 1)})) == 0
    )
    # no first purchase yet: this receipt starts the period, and reports the promotion
    first = price(rs, receipt(("bread", 1000, 2000), member=MemberContext("m")))
    assert first.discount_total == 200 and first.applied_promotions == ("welcome",)
    # anonymous receipt: a member-relative period cannot apply
    assert bread_discount(None) == 0


def test_validity_after_accumulating_amount() -> None:
    rs = rules("""
rules:
  - id: loyal
    validity: {after_accumulated: {amount: 100000, valid_days: 30}}
    target: [{skus: [bread]}]
    benefit: {type: percent, percent: "10%"}
  - id: loyal-forever
    validity: {after_accumulated: {amount: 200000}}
    target: [{skus: [milk]}]
    benefit: {type: percent, percent: "10%"}
""")
    assert rs.history_days == 30
    feb20 = PurchaseAggregate(date(2025, 2, 20), "kyiv-1", 30000)

    def result_for(member: MemberContext) -> dict[int, list[tuple[str, int]]]:
        return discounts(
            price(rs, receipt(("bread", 1000, 2000), ("milk", 1000, 3000), member=member))
        )

    # lifetime 1200.00; before 2025-02-20 it was 900.00 -> 1000.00 crossed on 02-20, valid to 03-22
    assert result_for(MemberContext("m", purchases=(feb20,), lifetime_amount=120000)) == {
        1: [("loyal", 200)]
    }
    # crossed before the loaded 30-day history -> the 30-day period is over
    assert result_for(MemberContext("m", lifetime_amount=120000)) == {}
    # not reached yet
    assert result_for(MemberContext("m", purchases=(feb20,), lifetime_amount=90000)) == {}
    # no valid_days: valid from reaching 2000.00 on, forever (10% of 3000 = 300)
    assert result_for(MemberContext("m", lifetime_amount=200000)) == {2: [("loyal-forever", 300)]}


def test_percent_of_whole_receipt_allocated_by_largest_remainder() -> None:
    rs = rules("rules: [{id: r7, benefit: {type: percent, percent: 700, scope: receipt}}]")
    # 7% of 100.00 = 700; shares 233.31, 233.31, 233.38 -> floors 233 x3, the leftover
    # kopeck goes to the largest remainder (line 3). Per-line rounding would lose it.
    result = price(rs, receipt(("milk", 1000, 3333), ("kefir", 1000, 3333), ("bread", 1000, 3334)))
    assert [line.discount_amount for line in result.lines] == [233, 233, 234]
    assert result.total == 9300


def test_fixed_amount_for_whole_receipt() -> None:
    rs = rules("rules: [{id: minus10, benefit: {type: amount, amount: 1000, scope: receipt}}]")
    # 10.00 over 30.00 / 20.00 / 25.00: 400, 266.67, 333.33 -> 400, 266(+1), 333
    result = price(rs, receipt(("milk", 1000, 3000), ("bread", 1000, 2000), ("kefir", 1000, 2500)))
    assert [line.discount_amount for line in result.lines] == [400, 267, 333]
    assert result.total == 6500


def test_fixed_amount_per_line() -> None:
    rs = rules("""
rules:
  - id: dairy-5-uah
    target: [{groups: [dairy]}]
    benefit: {type: amount, amount: 500, scope: line}
""")
    # milk line 60.00 -> 5.00 off; kefir line only 3.00 -> capped at the line: 3.00
    result = price(rs, receipt(("milk", 2000, 3000), ("kefir", 1000, 300), ("bread", 1000, 2000)))
    assert discounts(result) == {1: [("dairy-5-uah", 500)], 2: [("dairy-5-uah", 300)]}


def test_fixed_amount_per_commodity_unit() -> None:
    rs = rules("""
rules:
  - id: per-unit
    target: [{skus: [apples, juice-a]}]
    benefit: {type: amount, amount: 150, scope: unit}
""")
    # 1.50 per kg x 1.5 kg = 2.25; 1.50 per piece x 3 = 4.50
    result = price(rs, receipt(("apples", 1500, 4000), ("juice-a", 3000, 2500)))
    assert discounts(result) == {1: [("per-unit", 225)], 2: [("per-unit", 450)]}


def test_place_of_purchase_store_and_network() -> None:
    rs = rules("""
rules:
  - id: kyiv-2-only
    priority: 1
    conditions: {stores: [kyiv-2]}
    target: [{skus: [bread]}]
    benefit: {type: percent, percent: "10%"}
  - id: franchise
    priority: 2
    conditions: {networks: [franchise]}
    target: [{skus: [bread]}]
    benefit: {type: percent, percent: "5%"}
""")

    def at(store: str) -> dict[int, list[tuple[str, int]]]:
        return discounts(price(rs, receipt(("bread", 1000, 2000), store=store)))

    assert at("kyiv-1") == {}
    assert at("kyiv-2") == {1: [("kyiv-2-only", 200)]}
    assert at("lviv-1") == {1: [("franchise", 100)]}


@pytest.mark.parametrize(
    "selector",
    [
        "{skus: [cheese]}",
        "{groups: [dairy]}",
        "{subgroups: [cheese]}",
        "{brands: [Komo]}",
        "{suppliers: [komo]}",
    ],
)
def test_receipt_composition_by_product_attribute_and_quantity(selector: str) -> None:
    rs = rules(f"""
rules:
  - id: cheese-lovers
    conditions:
      receipt_contains: [{{match: [{selector}], min_quantity_milli: 2000}}]
    target: [{{skus: [bread]}}]
    benefit: {{type: amount, amount: 100, scope: line}}
""")
    # two cheeses satisfy "at least 2 units" -> 1.00 off bread; one cheese does not
    two = price(rs, receipt(("cheese", 2000, 8000), ("bread", 1000, 2000)))
    one = price(rs, receipt(("cheese", 1000, 8000), ("bread", 1000, 2000)))
    assert discounts(two) == {2: [("cheese-lovers", 100)]}
    assert discounts(one) == {}


def test_discount_on_goods_when_other_product_present() -> None:
    rs = rules("""
rules:
  - id: chips-with-beer
    conditions: {receipt_contains: [{match: [{skus: [beer]}]}]}
    target: [{skus: [chips]}]
    benefit: {type: percent, percent: "50%"}
""")
    # beer present: 50% of 30.00 chips = 15.00
    with_beer = price(rs, receipt(("beer", 1000, 4000), ("chips", 1000, 3000)))
    assert discounts(with_beer) == {2: [("chips-with-beer", 1500)]}
    assert discounts(price(rs, receipt(("chips", 1000, 3000)))) == {}


def test_discount_on_goods_when_item_of_price_category_present() -> None:
    rs = rules("""
rules:
  - id: nuts-with-premium
    conditions: {receipt_contains: [{match: [{price_categories: [premium]}]}]}
    target: [{skus: [nuts]}]
    benefit: {type: percent, percent: "20%"}
  - id: bread-with-dear-item
    conditions: {receipt_contains: [{match: [{min_unit_price: 25000}]}]}
    target: [{skus: [bread]}]
    benefit: {type: amount, amount: 100, scope: line}
""")
    # wine is "premium" and costs 300.00 >= 250.00: nuts 20% of 50.00 = 10.00, bread 1.00 off
    result = price(rs, receipt(("wine", 1000, 30000), ("nuts", 1000, 5000), ("bread", 1000, 2000)))
    assert discounts(result) == {
        2: [("nuts-with-premium", 1000)],
        3: [("bread-with-dear-item", 100)],
    }
    cheap = price(rs, receipt(("beer", 1000, 4000), ("nuts", 1000, 5000), ("bread", 1000, 2000)))
    assert discounts(cheap) == {}


SNACKS_FOR_BEER = """
rules:
  - id: beer-snacks
    target: [{groups: [snacks]}]
    benefit:
      type: set
      trigger: {match: [{groups: [beer]}], quantity_milli: 2000}
      reward: {quantity_milli: 1000, percent: "50%"}
"""


def test_set_of_goods_in_quantity_when_other_set_in_quantity() -> None:
    rs = rules(SNACKS_FOR_BEER)
    # 5 beers -> 2 applications (per 2 beers) -> 2 snack units at 50%, cheapest first:
    # both chips units (30.00 each): 50% of 60.00 = 30.00; nuts untouched.
    result = price(rs, receipt(("beer", 5000, 4000), ("chips", 2000, 3000), ("nuts", 1000, 5000)))
    assert discounts(result) == {2: [("beer-snacks", 3000)]}
    assert result.lines[1].discounts[0].reason == (
        "set: 2 of SKU chips 50% off per 2 of the trigger set"
    )
    # 3 beers -> 1 application -> one chips unit: 50% of 30.00 = 15.00
    result = price(rs, receipt(("beer", 3000, 4000), ("chips", 2000, 3000)))
    assert discounts(result) == {2: [("beer-snacks", 1500)]}


def test_set_sharing_goods_counts_each_unit_once() -> None:
    rs = rules("""
rules:
  - id: third-juice-free
    target: [{groups: [juice]}]
    benefit:
      type: set
      trigger: {match: [{groups: [juice]}], quantity_milli: 2000}
      reward: {quantity_milli: 1000, percent: "100%"}
""")
    # 3 juices: 2 are the trigger, 1 the reward -> one unit free (60.00 / 3 = 20.00)
    assert discounts(price(rs, receipt(("juice-a", 3000, 2000)))) == {
        1: [("third-juice-free", 2000)]
    }
    # 2 juices: trigger only, nothing to reward
    assert discounts(price(rs, receipt(("juice-a", 2000, 2000)))) == {}


def test_date_weekday_and_time_of_day() -> None:
    rs = rules("""
rules:
  - id: monday-afternoon
    conditions:
      date_ranges: [{start: 2025-03-01, end: 2025-03-10}]
      weekdays: [mon]
      time_windows: [{start: "14:00", end: "16:00"}]
    target: [{skus: [bread]}]
    benefit: {type: percent, percent: "10%"}
  - id: night
    conditions: {time_windows: [{start: "22:00", end: "06:00"}]}
    target: [{skus: [milk]}]
    benefit: {type: percent, percent: "10%"}
""")

    def at(*args: int) -> dict[int, list[tuple[str, int]]]:
        moment = datetime(*args, tzinfo=KYIV)
        return discounts(
            price(rs, receipt(("bread", 1000, 2000), ("milk", 1000, 3000), time=moment))
        )

    assert at(2025, 3, 3, 15, 0) == {1: [("monday-afternoon", 200)]}
    assert at(2025, 3, 10, 14, 0) == {1: [("monday-afternoon", 200)]}  # last day, window start
    assert at(2025, 3, 3, 16, 0) == {}  # window end is exclusive
    assert at(2025, 3, 4, 15, 0) == {}  # Tuesday
    assert at(2025, 3, 17, 15, 0) == {}  # a Monday after the date range
    assert at(2025, 3, 4, 23, 0) == {2: [("night", 300)]}  # window wraps past midnight
    assert at(2025, 3, 4, 5, 59) == {2: [("night", 300)]}
    assert at(2025, 3, 4, 6, 0) == {}


ACCUMULATED = """
rules:
  - id: regular
    conditions:
      accumulated: [{{period: 30, min_amount: 50000, {scope}}}]
    target: [{{skus: [bread]}}]
    benefit: {{type: percent, percent: "10%"}}
"""
HISTORY = (
    PurchaseAggregate(date(2025, 2, 20), "kyiv-1", 30000),
    PurchaseAggregate(date(2025, 2, 25), "kyiv-2", 20000),
    PurchaseAggregate(date(2025, 2, 1), "kyiv-1", 90000),  # 31 days before 03-03: outside
)


def test_accumulated_amount_for_single_store() -> None:
    rs = rules(ACCUMULATED.format(scope="stores: [kyiv-1]"))
    member = MemberContext("m", purchases=HISTORY)
    # kyiv-1 within 2025-02-02..03-03: 300.00 < 500.00
    assert price(rs, receipt(("bread", 1000, 2000), member=member)).discount_total == 0
    richer = MemberContext(
        "m", purchases=(*HISTORY, PurchaseAggregate(date(2025, 2, 2), "kyiv-1", 20000))
    )
    # + 200.00 on 2025-02-02 (first day of the 30-day window) = 500.00 -> 10% of 20.00
    assert price(rs, receipt(("bread", 1000, 2000), member=richer)).discount_total == 200


def test_accumulated_amount_for_store_group() -> None:
    rs = rules(ACCUMULATED.format(scope="networks: [kyiv]"))
    # network "kyiv" = kyiv-1 + kyiv-2: 300.00 + 200.00 = 500.00 -> applies
    member = MemberContext("m", purchases=HISTORY)
    assert price(rs, receipt(("bread", 1000, 2000), member=member)).discount_total == 200
    assert price(rs, receipt(("bread", 1000, 2000))).discount_total == 0  # no member


def test_previous_purchases_of_goods_within_period() -> None:
    rs = rules("""
rules:
  - id: beer-buyers
    conditions:
      previous_purchases: [{period: week, match: {groups: [beer]}}]
    target: [{skus: [chips]}]
    benefit: {type: percent, percent: "10%"}
""")

    def chips_discount(day: date) -> int:
        past = PurchaseAggregate(day, "kyiv-1", 4000, frozenset({"beer"}), frozenset({"beer"}))
        member = MemberContext("m", purchases=(past,))
        return price(rs, receipt(("chips", 1000, 3000), member=member)).discount_total

    assert chips_discount(date(2025, 2, 25)) == 300  # 7 days: 02-25..03-03
    assert chips_discount(date(2025, 2, 24)) == 0


@pytest.mark.parametrize("period", ["6", "367", "fortnight"])
def test_previous_purchase_period_between_week_and_year(period: str) -> None:
    text = f"""
rules:
  - id: p
    conditions: {{previous_purchases: [{{period: {period}, match: {{skus: [x]}}}}]}}
    benefit: {{type: percent, percent: 100}}
"""
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(text)
    ((path, message),) = caught.value.errors
    assert path == "rules[0].conditions.previous_purchases[0].period"
    assert "between 7 and 366 days" in message or "week" in message


def test_bonus_points_converted_to_discount() -> None:
    rs = rules("settings: {bonus: {max_redeem_share_bp: 5000}}\nrules: []")
    # 1000 points over 30.00 / 20.00 -> 600 / 400
    result = price(rs, receipt(("milk", 1000, 3000), ("bread", 1000, 2000), points=1000))
    assert discounts(result) == {1: [("bonus_points", 600)], 2: [("bonus_points", 400)]}
    assert (result.bonus_discount, result.max_points_redeemable, result.total) == (1000, 2500, 4000)
    # at most 50% of 50.00 = 2500 points; the cashier is told
    capped = price(rs, receipt(("milk", 1000, 3000), ("bread", 1000, 2000), points=4000))
    assert capped.bonus_discount == 2500 and capped.total == 2500
    assert capped.messages == ("Requested 4000 points; at most 2500 can be paid on this receipt",)
    # a known balance caps too: 800 points -> 480 / 320
    poor = MemberContext("m", points_balance=800)
    result = price(
        rs, receipt(("milk", 1000, 3000), ("bread", 1000, 2000), member=poor, points=900)
    )
    assert discounts(result) == {1: [("bonus_points", 480)], 2: [("bonus_points", 320)]}


def test_fixed_promo_price() -> None:
    rs = rules("""
rules:
  - {id: juice-promo, target: [{skus: [juice-a]}], benefit: {type: fixed_price, price: 2499}}
  - {id: apples-promo, target: [{skus: [apples]}], benefit: {type: fixed_price, price: 3000}}
""")
    # 3 x 29.99 = 89.97 -> 3 x 24.99 = 74.97: discount 15.00
    # 1.234 kg x 45.99 = 56.75166 -> 56.75; promo 1.234 x 30.00 = 37.02: discount 19.73
    result = price(rs, receipt(("juice-a", 3000, 2999), ("apples", 1234, 4599)))
    assert discounts(result) == {1: [("juice-promo", 1500)], 2: [("apples-promo", 1973)]}
    assert [line.final_amount for line in result.lines] == [7497, 3702]
    assert result.lines[0].discounts[0].reason == "promo price 24.99 for SKU juice-a"


def test_fixed_promo_price_above_list_price_gives_nothing() -> None:
    rs = rules(
        "rules: [{id: p, target: [{skus: [juice-a]}], benefit: {type: fixed_price, price: 3500}}]"
    )
    result = price(rs, receipt(("juice-a", 1000, 2999)))
    assert result.discount_total == 0 and result.total == 2999


def test_m_for_n_four_for_three() -> None:
    rs = rules("""
rules:
  - id: juice-4for3
    target: [{skus: [juice-a]}]
    benefit: {type: m_for_n, buy: 4, pay: 3}
""")
    four = price(rs, receipt(("juice-a", 4000, 2500)))
    assert discounts(four) == {1: [("juice-4for3", 2500)]}
    assert four.lines[0].discounts[0].reason == "4 for 3: 1 free unit(s) of SKU juice-a"
    assert price(rs, receipt(("juice-a", 7000, 2500))).discount_total == 2500  # 1 set of 4
    assert price(rs, receipt(("juice-a", 8000, 2500))).discount_total == 5000  # repeated per 4
    assert price(rs, receipt(("juice-a", 3000, 2500))).discount_total == 0


def test_boost_multiplies_base_rate_in_the_morning() -> None:
    rs = rules("""
rules:
  - id: base-3
    name: Base 3%
    benefit: {type: percent, percent: "3%"}
    boosts:
      - name: morning
        when: {time_windows: [{start: "08:00", end: "11:00"}]}
        multiplier_permille: 2000
""")
    lines = (("bread", 1000, 2000), ("milk", 1000, 3000))
    # afternoon: 3% -> 60 + 90
    afternoon = price(rs, receipt(*lines))
    assert [line.discount_amount for line in afternoon.lines] == [60, 90]
    # 09:00: 3% x 2 = 6% -> 120 + 180
    morning = price(rs, receipt(*lines, time=datetime(2025, 3, 3, 9, 0, tzinfo=KYIV)))
    assert [line.discount_amount for line in morning.lines] == [120, 180]
    assert morning.lines[0].discounts[0].reason == "6% off SKU bread (boost morning: x2)"


def test_card_type_condition() -> None:
    rs = rules("""
rules:
  - {id: gold, conditions: {card_types: [gold]}, target: [{skus: [bread]}],
     benefit: {type: percent, percent: "10%"}}
""")
    assert price(rs, receipt(("bread", 1000, 2000), card="gold")).discount_total == 200
    assert price(rs, receipt(("bread", 1000, 2000), card="silver")).discount_total == 0
    assert price(rs, receipt(("bread", 1000, 2000))).discount_total == 0
    # the member's stored card type counts when the till sends none
    member = MemberContext("m", card_type="gold")
    assert price(rs, receipt(("bread", 1000, 2000), member=member)).discount_total == 200


def test_bonus_accrual_percent_per_card_type() -> None:
    rs = rules("settings: {bonus: {accrual_bp: {silver: 500, gold: '10%'}}}\nrules: []")

    def accrued(card: str | None) -> int:
        return price(rs, receipt(("bread", 1000, 1999), card=card)).points_to_accrue

    assert accrued("silver") == 99  # 5% of 19.99 = 99.95 -> floor 99 points
    assert accrued("gold") == 199  # 10% of 19.99 = 199.9 -> 199
    assert accrued("green") == 0  # unknown card: default_accrual_bp = 0
    assert accrued(None) == 0
