"""Rule-set document validation: clear messages with field paths, integers only."""

from __future__ import annotations

import json

import pytest

from server.pricing import RuleSetError, compile_rule_set, load_rule_set


def errors_of(text: str, fmt: str = "yaml") -> list[tuple[str, str]]:
    with pytest.raises(RuleSetError) as caught:
        load_rule_set(text, fmt)  # type: ignore[arg-type]
    return caught.value.errors


def test_percent_out_of_range_names_the_field_path() -> None:
    text = "rules:\n" + "".join(
        f"  - {{id: r{i}, benefit: {{type: percent, percent: {p}}}}}\n"
        for i, p in enumerate([100, 200, 300, 10001])
    )
    assert errors_of(text) == [("rules[3].benefit.percent", "must be between 1 and 10000")]


def test_floats_are_rejected_everywhere() -> None:
    errors = errors_of("rules: [{id: a, benefit: {type: amount, amount: 10.5}}]")
    assert errors == [("rules[0].benefit.amount", "must be an integer (no floats, no strings)")]
    json_errors = errors_of(
        '{"rules": [{"id": "a", "benefit": {"type": "percent", "percent": 5.0}}]}', "json"
    )
    assert json_errors[0][0] == "rules[0].benefit.percent"


def test_percent_text_is_exact_basis_points() -> None:
    doc = load_rule_set("rules: [{id: a, benefit: {type: percent, percent: '2.5%'}}]")
    assert doc.rules[0].benefit.percent == 250  # type: ignore[union-attr]
    assert errors_of("rules: [{id: a, benefit: {type: percent, percent: '2.555%'}}]") == [
        ("rules[0].benefit.percent", "percent may have at most two decimals (basis points)")
    ]


def test_unknown_fields_types_and_missing_values() -> None:
    errors = errors_of("""
rules:
  - {id: a, benefit: {type: free_beer}}
  - {id: b, benefit: {type: percent}, colour: red}
  - {id: c}
""")
    assert ("rules[0].benefit", errors[0][1]) == errors[0] and "unknown type" in errors[0][1]
    assert ("rules[1].benefit.percent", "is required") in errors
    assert ("rules[1].colour", "unknown field") in errors
    assert ("rules[2].benefit", "is required") in errors


def test_cross_field_errors_have_paths() -> None:
    errors = errors_of("""
groups: [{id: g}, {id: g}]
rules:
  - {id: a, group: nope, benefit: {type: m_for_n, buy: 3, pay: 3}}
  - {id: a, benefit: {type: set, trigger: {match: [{skus: [x]}], quantity_milli: 1000},
     reward: {quantity_milli: 1000}}}
  - id: c
    validity: {start: 2025-03-10, end: 2025-03-01}
    conditions: {time_windows: [{start: "10:00", end: "10:00"}]}
    benefit: {type: percent, percent: 1}
""")
    assert errors == [
        ("groups[1].id", "duplicate of groups[0]"),
        ("rules[0].group", "unknown group 'nope'; declare it in groups"),
        ("rules[0].benefit.pay", "must be less than buy"),
        ("rules[1].id", "duplicate of rules[0]"),
        ("rules[1].benefit.reward", "give exactly one of percent or price"),
        ("rules[2].validity.end", "must not be before start"),
        ("rules[2].conditions.time_windows[0].end", "must differ from start"),
    ]


def test_unquoted_yaml_times_stay_times() -> None:
    # YAML 1.1 would read 10:30 as the base-60 integer 630
    doc = load_rule_set("""
rules:
  - id: a
    conditions: {time_windows: [{start: 10:30, end: 12:00}]}
    benefit: {type: percent, percent: 1}
""")
    window = doc.rules[0].conditions.time_windows[0]
    assert (window.start.hour, window.start.minute, window.end.hour) == (10, 30, 12)


def test_bad_timezone_and_unparseable_text() -> None:
    assert errors_of("settings: {timezone: Mars/Olympus}") == [
        ("settings.timezone", "unknown IANA time zone 'Mars/Olympus'")
    ]
    assert errors_of("rules: [")[0][0] == ""
    assert errors_of("- just a list") == [("", "the document must be a mapping")]


def test_json_and_yaml_give_the_same_version() -> None:
    data = {"rules": [{"id": "a", "benefit": {"type": "percent", "percent": 500}}]}
    from_json = compile_rule_set(load_rule_set(json.dumps(data), "json"))
    from_yaml = compile_rule_set(
        load_rule_set("rules: [{id: a, benefit: {type: percent, percent: '5%'}}]")
    )
    assert from_json.version == from_yaml.version and len(from_json.version) == 16


def test_domain_error_for_the_api_layer() -> None:
    with pytest.raises(RuleSetError) as caught:
        load_rule_set("rules: [{id: a, benefit: {type: percent, percent: 0}}]")
    error = caught.value.as_domain_error()
    assert error.reason == "INVALID_RULE_SET"
    assert [(v.field, v.description) for v in error.violations] == [
        ("rules[0].benefit.percent", "must be between 1 and 10000")
    ]
