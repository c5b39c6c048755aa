"""The documentation stays in step with the code: every column of the schema is documented."""

from conftest import ROOT

from riskmodel.schema import TABLES


def test_every_column_is_in_data_format_doc():
    text = (ROOT / "docs" / "data-format.md").read_text(encoding="utf-8")
    missing = [c.name for t in TABLES.values() for c in t.columns if f"`{c.name}`" not in text]
    assert missing == []


def test_readme_names_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run" in text and "make test" in text
