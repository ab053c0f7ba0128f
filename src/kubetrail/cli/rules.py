"""`kubetrail rules list|test|rebuild`: the detections as data (docs/rules.md)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from kubetrail.cli.output import EXIT_PROBLEM, common, default_format, emit_json, fail, output_option, table

if TYPE_CHECKING:
    from kubetrail.rules import RuleSet

F = TypeVar("F", bound=Callable[..., Any])


def rules_option(func: F) -> F:
    """--rules DIR, repeatable: rule files beside the built-in ones."""
    return click.option(
        "--rules", "rules_paths", multiple=True, type=click.Path(),
        help="A directory of rule files (*.yaml) or one rule file, beside the built-in rules; repeatable (docs/rules.md).",
    )(func)  # fmt: skip


def load_rules(fmt: str, paths: tuple[str, ...]) -> RuleSet:
    """The active rule set, or exit 1 saying which file and line is wrong."""
    from kubetrail.rules import RuleError, builtin, load

    try:
        return load(paths) if paths else builtin()
    except RuleError as exc:
        fail(fmt, "rules", str(exc), EXIT_PROBLEM)


@click.group("rules")
def rules_cmd() -> None:
    """The detection rules: list them, test them, and rebuild what the store keeps for them."""


@rules_cmd.command("list")
@rules_option
@common
def list_cmd(rules_paths: tuple[str, ...], db: str, fmt: str | None) -> None:
    """The active rules: built-in ones and yours (--rules), and which the store covers.

    A rule the store does not cover (new, or changed since `kubetrail rules rebuild`) is answered
    by reading its whole class of events in the window, not the candidates kept at ingest.

    \b
    Example:
      kubetrail rules list --rules ./my-rules -o json
    """
    fmt = fmt or default_format()
    active = load_rules(fmt, rules_paths)
    covered, note = _covered(db)
    builtin_ids = {r.id for r in _builtin_rules().rules}
    rows: list[dict[str, Any]] = [
        {
            "id": r.id, "title": r.title, "severity": r.severity, "class": r.table, "techniques": list(r.techniques),
            "origin": r.origin, "builtin": r.builtin, "overrides_builtin": not r.builtin and r.id in builtin_ids,
            "covered": None if covered is None else all(covered.get(n) == s.digest() for n, s in r.selections()),
        }
        for r in active.rules
    ]  # fmt: skip
    notes = [note] if note else []
    if fmt == "json":
        emit_json({"db": db if covered is not None else None, "rules": rows, "notes": notes})
        return
    columns = ["id", "severity", "class", "title", "origin", "covered"]
    table("rules", columns, [[r[c] if c != "covered" else _covered_cell(r[c]) for c in columns] for r in rows])
    for n in notes:
        click.echo(f"note: {n}", err=True)
    if any(r["covered"] is False for r in rows):
        click.echo(f"note: rules not covered read their whole class of events: kubetrail rules rebuild --db {db}", err=True)


def _covered_cell(covered: bool | None) -> str:
    return {None: "?", True: "yes", False: "no: full scan"}[covered]


def _builtin_rules() -> RuleSet:
    from kubetrail.rules import builtin

    return builtin()


def _covered(db: str) -> tuple[dict[str, str] | None, str | None]:
    """The rules the store covers (id -> digest), or None and why not."""
    from kubetrail.api.held import read_held
    from kubetrail.store import StoreError, open_store
    from kubetrail.store.clickhouse import is_url

    if not is_url(db) and not os.path.exists(db):
        return None, f"no store at {db}: coverage not shown"
    if (held := read_held(db)) is not None:
        return None, f"{db} is held by kubetrail serve (PID {held.pid}), which covers its own rules: coverage not shown"
    try:
        store = open_store(db, read_only=True)
    except StoreError as exc:
        return None, str(exc)
    try:
        return store.covered_rules(), None
    finally:
        store.close()


@rules_cmd.command("test")
@click.argument("paths", nargs=-1, type=click.Path())
@output_option
def test_cmd(paths: tuple[str, ...], fmt: str | None) -> None:
    """Check every rule's inline tests: each `match` record must match, no `no_match` one may.

    Without PATH, the built-in rules; with PATH (rule files or directories), the rules there,
    which may use the built-in macros. Exit 1 when a test fails.

    \b
    Example:
      kubetrail rules test ./my-rules
    """
    from kubetrail.rules.check import check

    fmt = fmt or default_format()
    active = load_rules(fmt, paths)
    chosen = [r for r in active.rules if not r.builtin] if paths else list(active.rules)
    report = check(chosen)
    failures = [str(f) for f in report.failures]
    untested = [f"{r.origin}: rule {r.id}: needs a record that must match and one that must not" for r in report.untested]
    if fmt == "json":
        emit_json({"rules": report.rules, "records": report.records, "failures": failures, "untested": untested})
    else:
        for line in failures + untested:
            click.echo(line, err=True)
        verdict = "FAIL" if report.failures else "ok"
        click.echo(f"{verdict}: {report.rules} rules, {report.records} test records, {len(report.failures)} failures")
    if report.failures:
        raise SystemExit(EXIT_PROBLEM)


@rules_cmd.command("import-sigma")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Directory to write the rule files to.")
@output_option
def import_sigma_cmd(paths: tuple[str, ...], out: str, fmt: str | None) -> None:
    """Convert Sigma rules for Kubernetes audit logs into kubetrail rules, one file each.

    A rule with a field, modifier or value kubetrail cannot map is refused with pySigma's
    reason, never half-converted (exit 1 when any was). Needs pySigma: pip install 'kubetrail[sigma]'.

    \b
    Example:
      kubetrail rules import-sigma sigma/rules/application/kubernetes/audit/*.yml --out ./my-rules
    """
    from pathlib import Path

    import yaml

    from kubetrail.rules import RuleError, load

    fmt = fmt or default_format()
    try:
        from kubetrail.rules.sigma import convert
    except ImportError:
        fail(fmt, "sigma", "rules import-sigma needs pySigma: pip install 'kubetrail[sigma]'", EXIT_PROBLEM)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    converted, refused = [], []
    for c in convert([Path(p) for p in paths]):
        if c.rule is None:
            refused.append({"sigma": c.source, "title": c.title, "reason": c.refused})
            continue
        target = folder / f"{c.rule['id']}.yaml"
        text = f"# Imported from the Sigma rule {c.source} by kubetrail rules import-sigma.\n"
        target.write_text(text + yaml.safe_dump({"rules": [c.rule]}, sort_keys=False, allow_unicode=True))
        try:
            load([target])  # what kubetrail cannot compile is refused too, and not left behind
        except RuleError as exc:
            target.unlink()
            refused.append({"sigma": c.source, "title": c.title, "reason": str(exc)})
            continue
        converted.append({"sigma": c.source, "rule": c.rule["id"], "file": str(target)})
    if fmt == "json":
        emit_json({"converted": converted, "refused": refused})
    else:
        for r in refused:
            click.echo(f"refused: {r['sigma']} ({r['title']}): {r['reason']}", err=True)
        click.echo(f"converted {len(converted)} Sigma rules into {out}, refused {len(refused)}")
    if refused:
        raise SystemExit(EXIT_PROBLEM)


@rules_cmd.command("rebuild")
@rules_option
@common
def rebuild_cmd(rules_paths: tuple[str, ...], db: str, fmt: str | None) -> None:
    """Make the store cover the active rules: the candidates it keeps at ingest are found again
    for them in every stored event (once; from then on with each batch).

    \b
    Example:
      kubetrail rules rebuild --rules ./my-rules --db ./kubetrail.duckdb
    """
    from kubetrail.cli.main import _open

    fmt = fmt or default_format()
    active = load_rules(fmt, rules_paths)
    store = _open(db, fmt)
    try:
        store.cover_rules(active.rules)
        counts = store.candidate_counts()
    finally:
        store.close()
    doc = {"db": db, "rules": len(active.rules), "candidates": counts}
    if fmt == "json":
        emit_json(doc)
        return
    click.echo(f"{db} covers {len(active.rules)} rules; candidates kept: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
