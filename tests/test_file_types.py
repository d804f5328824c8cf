"""A local input file's type comes from its bytes: a name can lie or say nothing."""

from __future__ import annotations

import pytest

from wiro_mcp.files import content_type


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"%PDF-1.7\n...", "report", "application/pdf"),
        (b"%PDF-1.4\n...", "report.txt", "application/pdf"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "take.bin", "audio/wav"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "photo.jpg", "image/webp"),
        (b"ID3\x04\x00", "voice", "audio/mpeg"),
        (b"\xff\xfb\x90\x00", "voice", "audio/mpeg"),
        (b"\x00\x00\x00\x18ftypmp42", "clip", "video/mp4"),
        (b"\x00\x00\x00\x18ftypM4A ", "memo", "audio/mp4"),
        (b"\x89PNG\r\n\x1a\n", "x.jpeg", "image/png"),
        (
            b"PK\x03\x04rest",
            "brief.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (b"PK\x03\x04rest", "bundle", "application/zip"),
        (b"name,total\na,1\n", "sales.csv", "text/csv"),
        ("Grüße, wörld".encode() * 400, "notes", "text/plain"),
        (b"\x00\x01\x02binary", "blob", "application/octet-stream"),
    ],
)
def test_the_type_of_a_local_file_is_read_from_its_bytes(data: bytes, name: str, expected: str) -> None:
    assert content_type(data, name) == expected
