"""The committed JSON Schemas in data/schema/ are exactly what the models generate."""

from pathlib import Path

from trueclout.cli import main
from trueclout.data import SCHEMA_DIR
from trueclout.schema import PUBLISHED, generated, stale, write


def test_committed_schemas_match_the_models() -> None:
    for name, text in generated().items():
        committed = (SCHEMA_DIR / name).read_text()
        assert committed == text, (
            f"data/schema/{name} is out of date: run `trueclout dev schema` and commit it"
        )


def test_dev_command_checks_the_committed_schemas(capsys) -> None:
    assert main(["dev", "schema", "--check"]) == 0
    assert "current" in capsys.readouterr().out


def test_stale_names_missing_and_edited_schemas(tmp_path: Path) -> None:
    assert stale(tmp_path) == list(PUBLISHED)
    write(tmp_path)
    assert stale(tmp_path) == []
    edited = tmp_path / next(iter(PUBLISHED))
    edited.write_text(edited.read_text() + " ")
    assert stale(tmp_path) == [edited.name]
