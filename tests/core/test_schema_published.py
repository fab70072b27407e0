"""The committed JSON Schemas in data/schema/ are exactly what the models generate."""

from trueclout.data import SCHEMA_DIR
from trueclout.schema import generated


def test_committed_schemas_match_the_models() -> None:
    for name, text in generated().items():
        committed = (SCHEMA_DIR / name).read_text()
        assert committed == text, (
            f"data/schema/{name} is out of date: run `python -m trueclout.schema` and commit it"
        )
