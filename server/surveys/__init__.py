"""Surveys: definitions, branching, answers, results (issue 17)."""
