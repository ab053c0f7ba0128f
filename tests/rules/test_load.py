"""Rule files are checked once, when loaded: the schema, the fields of the class, the matchers'
types; an error names the file, the line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubetrail.rules import RuleError, builtin, load

HEAD = """rules:
  - id: my-rule
    title: Mine
    severity: medium
    class: api_calls
    reason: mine
"""


def write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(RuleError) as exc:
        load([write(tmp_path, text)])
    return str(exc.value)


def test_every_builtin_rule_loads_with_its_origin_and_tests() -> None:
    rules = builtin().rules
    assert len({r.id for r in rules}) == len(rules) > 10
    for r in rules:
        assert r.builtin and r.origin.split(":")[0].endswith(".yaml") and r.matches and r.no_matches, r.id


def test_a_field_the_class_has_not_is_refused_at_its_line(tmp_path: Path) -> None:
    message = refused(tmp_path, HEAD + "    condition:\n      verb: get\n      binary: /bin/sh\n")
    assert message.startswith(f"{tmp_path / 'mine.yaml'}:9: rule my-rule: ")
    assert "'binary' is not a field of api_calls" in message


@pytest.mark.parametrize(
    ("condition", "says"),
    [
        ("{code: {regex: '^4'}}", "regex needs a text field; code is INTEGER"),
        ("{verb: {gt: 3}}", "gt needs a number field; verb is VARCHAR"),
        ("{code: '403'}", "'403' is not a number"),
        ("{actor: {regex: '(?!system:)'}}", "lookarounds and backreferences are not supported"),
        ("{actor: {regex: '(unclosed'}}", "missing ), unterminated subpattern"),
        ("{source_ips: {cidr: '10.0.0.0/33'}}", "does not appear to be an IPv4 or IPv6 network"),
        ("{namespace: {field: nope}}", "'nope' is not a field of api_calls"),
        ("{macro: nowhere}", "no macro named 'nowhere'"),
        ("{verb: {like: 'x*'}}", "rules[0].condition.verb"),
    ],
)
def test_a_matcher_that_does_not_fit_its_field_is_refused(tmp_path: Path, condition: str, says: str) -> None:
    assert says in refused(tmp_path, HEAD + f"    condition: {condition}\n")


def test_a_schema_error_names_the_key_and_its_line(tmp_path: Path) -> None:
    message = refused(tmp_path, HEAD.replace("severity: medium", "severity: urgent") + "    condition: {verb: get}\n")
    assert (
        message == f"{tmp_path / 'mine.yaml'}:4: rules[0].severity: 'urgent' is not one of ['low', 'medium', 'high', 'critical']"
    )


def test_a_template_naming_no_field_and_a_sample_of_no_source_are_refused(tmp_path: Path) -> None:
    bad_template = HEAD.replace("reason: mine", "reason: 'by {who}'") + "    condition: {verb: get}\n"
    assert "{who} is not a field of api_calls" in refused(tmp_path, bad_template)
    bad_source = HEAD + "    condition: {verb: get}\n    tests:\n      match:\n        - {source: syslog, record: {}}\n"
    assert "no source named 'syslog'" in refused(tmp_path, bad_source)


def test_not_yaml_is_refused_with_its_line(tmp_path: Path) -> None:
    assert refused(tmp_path, HEAD + "    condition: {verb: [get\n").startswith(f"{tmp_path / 'mine.yaml'}:")


def test_a_macro_that_uses_itself_is_refused(tmp_path: Path) -> None:
    text = "macros:\n  loop: {macro: loop}\n" + HEAD + "    condition: {macro: loop}\n"
    assert "macro 'loop' uses itself (loop -> loop)" in refused(tmp_path, text)


def test_a_user_rule_with_a_builtin_id_replaces_it_and_builtin_macros_are_shared(tmp_path: Path) -> None:
    text = HEAD.replace("my-rule", "k8s-denied").replace("class: api_calls", "class: api_calls\n    kinds: [api_call]")
    rules = load([write(tmp_path, text + "    condition: {code: 401, not: {macro: control-plane}}\n")])
    denied = rules.by_id()["k8s-denied"]
    assert not denied.builtin and denied.title == "Mine" and denied.origin == f"{tmp_path / 'mine.yaml'}:2"
    assert [r.id for r in rules.rules].count("k8s-denied") == 1
    assert denied.digest != builtin().by_id()["k8s-denied"].digest


def test_a_rule_path_that_is_not_there_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="no rule file or directory of rule files there"):
        load([tmp_path / "nowhere"])


def test_a_key_given_twice_is_refused_not_silently_dropped(tmp_path: Path) -> None:
    text = HEAD + "    condition:\n      not: {verb: get}\n      not: {verb: list}\n"
    assert refused(tmp_path, text) == f"{tmp_path / 'mine.yaml'}:9: 'not' given twice in one mapping: join them (all: [...])"


def test_two_user_rules_with_one_id_are_refused(tmp_path: Path) -> None:
    write(tmp_path, HEAD + "    condition: {verb: get}\n", "a.yaml")
    write(tmp_path, HEAD + "    condition: {verb: list}\n", "b.yaml")
    with pytest.raises(RuleError) as exc:
        load([tmp_path])
    assert str(exc.value) == f"{tmp_path / 'b.yaml'}:2: rule my-rule: the id of the rule at {tmp_path / 'a.yaml'}:2 too"


def test_a_rule_with_both_a_condition_and_a_sequence_is_refused(tmp_path: Path) -> None:
    sequence = "    sequence: {within: 5m, steps: [{class: api_calls, condition: {verb: get}, key: [actor]}]}\n"
    message = refused(tmp_path, HEAD + "    condition: {verb: get}\n" + sequence)
    assert (
        message == f"{tmp_path / 'mine.yaml'}:2: rules[0]: give class and condition (kinds, threshold), or a sequence, not both"
    )
