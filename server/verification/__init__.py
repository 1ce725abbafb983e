"""SMS verification of the card holder (seed 000): codes, tokens, rate limits."""
