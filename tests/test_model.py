from __future__ import annotations

from kubetrail.model import FIELD_NAMES, catalog, fields_markdown
from tests.conftest import ROOT


def test_every_field_has_a_type_and_a_meaning() -> None:
    assert len(FIELD_NAMES) == len(set(FIELD_NAMES)) > 90
    assert all(f.sql and len(f.doc) > 5 for f in catalog())


def test_field_docs_are_generated_from_the_catalog() -> None:
    assert (ROOT / "docs" / "fields.md").read_text() == fields_markdown()
