"""The rewards catalogue at the till: which rewards a member could take now.

Pure and cheap (a filter over the catalogue in memory): CalculateReceipt offers them, the
cashier tells the customer; spending the points is a separate, verified redemption.
"""

from __future__ import annotations

from server.accounts.accrual_schema import AccrualRuleSet, Reward

MAX_OFFERS = 5


def affordable(rule_set: AccrualRuleSet, card_type: str | None, balance: int) -> list[Reward]:
    """Rewards the balance pays for, for this card type: the dearest first (the best the
    member can have), ties by id; at most MAX_OFFERS."""
    if balance <= 0 or not rule_set.rewards:
        return []
    fits = [r for r in rule_set.rewards
            if r.points <= balance and (not r.card_types or card_type in r.card_types)]
    return sorted(fits, key=lambda r: (-r.points, r.id))[:MAX_OFFERS]


def offer_text(reward: Reward) -> str:
    """'Reward for 500 points: Coffee (reward free-coffee)'."""
    return f"Reward for {reward.points} points: {reward.name or reward.id} (reward {reward.id})"
