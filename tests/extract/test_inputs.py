"""Reading reports: every input kind and every encoding a PM's editor writes; binary and empty files."""

from __future__ import annotations

import io
import json

import pytest

from reportx.errors import ReportxError
from reportx.extract.inputs import MAX_REPORT_BYTES, decode_bytes, discover, text_sha256

from .conftest import SAMPLES

TEXT = "Informe – proyecto «Ñandú»: gasto 4.500 €, estado ámbar.\nSiguiente: revisión"


@pytest.mark.parametrize(
    "encoding, data",
    [
        ("utf-8", TEXT.encode("utf-8")),
        ("utf-8-sig", b"\xef\xbb\xbf" + TEXT.encode("utf-8")),
        ("utf-16-le", TEXT.encode("utf-16")),  # Python writes a BOM, little-endian
        ("utf-16-be", b"\xfe\xff" + TEXT.encode("utf-16-be")),
        ("utf-16-le", TEXT.encode("utf-16-le")),  # no BOM
        ("utf-16-be", TEXT.encode("utf-16-be")),  # no BOM
        ("cp1252", TEXT.encode("cp1252")),
        ("cp1252", TEXT.replace("\n", "\r\n").encode("cp1252")),
    ],
)
def test_every_editor_encoding_decodes_to_the_same_text(encoding, data):
    text, found = decode_bytes(data)
    assert text == TEXT
    assert found == encoding


def test_latin1_only_bytes_decode():
    # 0x81 is undefined in cp1252: such a file is latin-1.
    data = "Año: señal".encode("latin-1") + b"\x81"
    text, found = decode_bytes(data)
    assert found == "latin-1" and text.startswith("Año: señal")


def test_line_endings_and_nfc_are_normalised_and_nothing_else():
    decomposed = "Estado: a\u0301mbar\r\n  Cliente:  ACME \r\n"
    text, _ = decode_bytes(decomposed.encode("utf-8"))
    assert text == "Estado: ámbar\n  Cliente:  ACME \n"


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"%PDF-1.7\n%\xe2\xe3", b"abc\x00def\x00\x01\x02\x03\x04" * 10,
     bytes(range(256)) * 4],
)
def test_binary_is_refused(data):
    from reportx.extract.inputs import NotText

    with pytest.raises(NotText):
        decode_bytes(data)


def test_discover_files_directories_and_globs(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("uno", encoding="utf-8")
    (tmp_path / "a" / "two.md").write_text("dos", encoding="utf-8")
    (tmp_path / "a" / "skip.log").write_text("no", encoding="utf-8")
    (tmp_path / "a" / ".hidden").mkdir()
    (tmp_path / "a" / ".hidden" / "three.txt").write_text("no", encoding="utf-8")
    (tmp_path / "b.txt").write_text("b", encoding="utf-8")
    items = list(discover([str(tmp_path / "a"), str(tmp_path / "b.txt")]))
    assert [i.text for i in items] == ["uno", "dos", "b"]
    logs = list(discover([str(tmp_path / "a")], globs=["*.log"]))
    assert [i.text for i in logs] == ["no"]


def test_discover_stdin_and_jsonl(tmp_path):
    items = list(discover(["-"], stdin=io.BytesIO("Proyecto X: todo OK".encode("utf-16"))))
    assert len(items) == 1 and items[0].source == "-" and items[0].text == "Proyecto X: todo OK"
    jsonl = tmp_path / "batch.jsonl"
    jsonl.write_text(
        json.dumps({"id": 1, "body": "uno"}) + "\n\n" + json.dumps({"id": 2}) + "\n" + "{broken\n"
        + json.dumps({"body": "tres"}) + "\n",
        encoding="utf-8",
    )
    items = list(discover([str(jsonl)], jsonl_field="body"))
    assert [(i.source.rsplit(":", 1)[1], i.text, i.error is not None) for i in items] == [
        ("1", "uno", False), ("3", None, True), ("4", None, True), ("5", "tres", False)]
    assert "no text field 'body'" in items[1].error
    piped = list(discover(["-"], jsonl_field="body", stdin=io.BytesIO(jsonl.read_bytes())))
    assert [i.text for i in piped if i.text] == ["uno", "tres"]


def test_discover_errors_are_usage_errors(tmp_path):
    with pytest.raises(ReportxError, match="not found"):
        list(discover([str(tmp_path / "missing.txt")]))
    with pytest.raises(ReportxError, match="no reports found"):
        list(discover([str(tmp_path)]))
    with pytest.raises(ReportxError, match="once"):
        list(discover(["-", "-"]))


def test_empty_binary_and_huge_files_become_items_with_errors(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("  \n\n ", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tmp_path / "huge.txt").write_bytes(b"a" * (MAX_REPORT_BYTES + 1))
    items = {i.source.rsplit("/", 1)[1]: i for i in discover([str(tmp_path)])}
    assert items["empty.txt"].text == "" and items["blank.txt"].text.strip() == ""
    assert "binary" in items["image.txt"].error and items["image.txt"].sha256
    assert "longer than the context" in items["huge.txt"].error


def test_samples_cover_the_encodings():
    items = {i.source.rsplit("/", 1)[1]: i for i in discover([str(SAMPLES)])}
    assert len(items) >= 10
    assert items["tramontana-cp1252.txt"].encoding == "cp1252"
    assert "Teruel" in items["tramontana-cp1252.txt"].text and "125.400 €" in items["tramontana-cp1252.txt"].text
    assert items["polaris-utf16.txt"].encoding.startswith("utf-16")
    assert items["condor-chat.txt"].encoding == "utf-8-sig"
    assert all(i.error is None for i in items.values())


def test_sha256_is_of_the_normalised_text():
    assert text_sha256("a\r\nb") == text_sha256("a\nb") == text_sha256("\ufeffa\nb")


def test_jsonl_text_is_found_as_train_and_eval_find_it(tmp_path):
    from reportx.prompts import chat_messages
    from reportx.schema import builtin_schema

    text = "Proyecto Alpha. Estado: verde."
    path = tmp_path / "mixed.jsonl"
    rows = [{"input": text, "output": "{}"}, {"text": text},
            {"messages": chat_messages(text, builtin_schema(), answer="{}")}, {"body": text}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    items = list(discover([str(path)]))
    assert [it.text for it in items[:3]] == [text, text, text]
    assert items[3].text is None and "--jsonl-field" in items[3].error
    named = list(discover([str(path)], jsonl_field="body"))
    assert named[3].text == text and named[0].text is None
