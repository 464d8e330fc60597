"""docs/writing-a-connector.md documents the connector API as the code defines it (issue 17):
the data classes, the webhook types, the Stream/Sink/WebhookHandler/Sandbox methods."""

import dataclasses
import inspect

from hub.connector import Record, Sandbox, Sink, WebhookRequest, reference


def test_the_reference_section_matches_the_code():
    text = reference.DOC.read_text(encoding="utf-8")
    section = reference.current(text)
    assert section is not None, f"{reference.DOC}: the generated reference section's markers are missing"
    assert section == reference.render(), (
        "docs/writing-a-connector.md's reference is out of date with hub.connector; run "
        "`python -m hub.connector.reference --write`")


def test_the_reference_covers_what_vendors_use():
    section = reference.render()
    for name in ("Record", "ReadBatch", "WriteResult", "WebhookRequest", "WebhookResult", "Stream", "Sink",
                 "WebhookHandler", "Sandbox"):
        assert f"#### `{name}`" in section, name
    for f in dataclasses.fields(Record):
        assert f"| `{f.name}` |" in section
    for name, fn in vars(Sandbox).items():
        if inspect.isfunction(fn) and not name.startswith("_"):
            assert f"- `{name}(" in section, f"Sandbox.{name} is not documented"
    # written_before lives on Sink, and is documented there
    sink_part = section.split("#### `Sink`", 1)[1].split("#### ", 1)[0]
    assert "- `written_before(idempotency_key: str) -> WriteResult \\| None`" in sink_part.replace(
        "WriteResult | None", "WriteResult \\| None")
    assert "- `remember_write(" in sink_part
    assert "`header(name: str, default: str | None = None) -> str | None` — The header" in section
    assert hasattr(Sink, "written_before") and hasattr(WebhookRequest, "header")


def test_a_changed_signature_is_caught(monkeypatch):
    """The check is not vacuous: a new Sandbox method changes the rendered section."""
    before = reference.render()

    def frobnicate(self, sink: str) -> int:
        """A method a vendor would have to know about."""
        return 0

    monkeypatch.setattr(Sandbox, "frobnicate", frobnicate, raising=False)
    after = reference.render()
    assert after != before and "- `frobnicate(sink: str) -> int` — A method a vendor would have to know about." in after


def test_no_data_class_field_is_left_undocumented():
    section = reference.render()
    for cls in reference._data_classes():
        part = section.split(f"#### `{cls.__name__}`", 1)[1].split("#### ", 1)[0]
        for f in dataclasses.fields(cls):
            assert f"| `{f.name}` |" in part, f"{cls.__name__}.{f.name}"
