"""gzip of bodies produced in parts (nap.compression.chunked_response): one standard
gzip member, compressed piece by piece in background threads, given exactly when the
after_request hook would have given it; and the OCPI envelope built around JSON texts."""
from __future__ import annotations

import gzip
import io
import json
import random
import zlib

import pytest
from flask import Flask

from nap import compression
from nap.compression import GzipJoin, GzipPieces, Piece, PieceWriter, chunked_response, crc32_combine
from nap.ocpi.envelope import ocpi_response_of_json


def _text(size: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    words = [b'"status":"AVAILABLE"', b'"uid":"', b"12345", b"},{", b'"connectors":[', b"\xc3\xa4", b" "]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words)
    return bytes(out[:size])


@pytest.mark.parametrize("sizes", [[], [0], [10], [compression.PIECE_SIZE], [compression.PIECE_SIZE - 1, 2],
                                   [70_000] * 20, [3 * compression.PIECE_SIZE + 17, 5, 100_000]])
def test_pieces_make_one_gzip_member_any_decoder_reads(sizes):
    parts = [_text(size, seed) for seed, size in enumerate(sizes)]
    pieces = GzipPieces()
    for part in parts:
        pieces.write(part)
    zipped = pieces.close()
    body = b"".join(parts)
    assert gzip.decompress(zipped) == body
    # A decoder that reads a single member only (as HTTP clients do) gets all of it too.
    single = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert single.decompress(zipped) == body and single.eof and single.unused_data == b""


def test_pieces_compress_about_as_well_as_one_compressor():
    body = _text(5 * compression.PIECE_SIZE)
    pieces = GzipPieces()
    for start in range(0, len(body), 10_000):
        pieces.write(body[start:start + 10_000])
    assert len(pieces.close()) <= 1.02 * len(gzip.compress(body, compresslevel=compression.LEVEL))


@pytest.mark.parametrize("sizes", [[], [0], [5, 0, 7], [70_000] * 5, [3 * compression.PIECE_SIZE + 17, 1]])
def test_pieces_compressed_apart_join_into_one_gzip_member(sizes):
    parts = [_text(size, seed) for seed, size in enumerate(sizes)]
    out = io.BytesIO()
    join = GzipJoin(out)
    for number, part in enumerate(parts):
        if number % 2:  # written in parts, as a status segment is
            writer = PieceWriter()
            for start in range(0, len(part), 10_000):
                writer.write(part[start:start + 10_000])
            piece = writer.piece()
        else:
            piece = Piece.of(part)
        assert piece.plain() == part and piece.size == len(part) and piece.crc == zlib.crc32(part)
        join.add(piece)
    join.finish()
    body = b"".join(parts)
    single = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert single.decompress(out.getvalue()) == body and single.eof and single.unused_data == b""


@pytest.mark.parametrize("kinds", ["", "w", "d", "wdw", "ddd", "wpdw", "w0d0w", "dwpd"])
def test_a_file_written_plain_and_from_parts_deflated_elsewhere_is_one_gzip_member(tmp_path, kinds):
    """GzipJoin as a file: plain bytes written (w; 0: none), raw deflate data another
    process wrote into a file (d) and pieces (p), mixed in any order, read as one member."""
    parts, out = [], io.BytesIO()
    join = GzipJoin(out)
    for number, kind in enumerate(kinds):
        part = _text(0 if kind == "0" else 50_000 + 70_000 * number, number)
        parts.append(part)
        if kind in "w0":
            for start in range(0, len(part), 9_999):
                join.write(part[start:start + 9_999])
        elif kind == "p":
            join.add(Piece.of(part))
        else:
            path = tmp_path / f"part-{number}"
            with path.open("wb") as handle:
                writer = compression.DeflateWriter(handle)
                for start in range(0, len(part), 10_000):
                    writer.write(part[start:start + 10_000])
                crc, size = writer.finish()
            with path.open("rb") as handle:
                join.add_deflated(handle, crc, size)
    join.finish()
    body = b"".join(parts)
    single = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert single.decompress(out.getvalue()) == body and single.eof and single.unused_data == b""
    assert gzip.decompress(out.getvalue()) == body


@pytest.mark.parametrize("sizes", [(100_000, 77_777), (10, 0), (0, 5), (7, (1 << 20) * 2 + 3)])
def test_the_crc_of_joined_data_is_combined_with_and_without_zlibs_function(monkeypatch, sizes):
    first, second = _text(sizes[0], 1), _text(sizes[1], 2)
    expected = zlib.crc32(first + second)
    assert crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == expected
    monkeypatch.setattr(compression, "_COMBINE", None)
    assert crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == expected


@pytest.fixture
def app():
    return Flask(__name__)


@pytest.mark.parametrize("method, accept, size, zipped", [
    ("GET", "gzip", 300_000, True), ("GET", "gzip, deflate", 2_000, True),
    ("GET", "identity", 300_000, False), ("GET", None, 300_000, False),
    ("HEAD", "gzip", 300_000, False), ("GET", "gzip", compression.MIN_SIZE - 1, False),
])
def test_chunked_response_gzips_when_the_hook_would(app, method, accept, size, zipped):
    body = _text(size)
    chunks = [body[i:i + 1000] for i in range(0, len(body), 1000)]
    headers = {"Accept-Encoding": accept} if accept else {}
    with app.test_request_context("/", method=method, headers=headers):
        response = chunked_response(iter(chunks))
        assert "Accept-Encoding" in response.vary
        assert (response.headers.get("Content-Encoding") == "gzip") is zipped
        assert (gzip.decompress(response.get_data()) if zipped else response.get_data()) == body
        # The after_request hook leaves it as it is.
        assert compression.gzip_response(response).get_data() == response.get_data()


@pytest.mark.parametrize("count, chunk_size", [(0, 10), (1, 10), (7, 1), (50, 300), (50, 10**6)])
def test_the_envelope_around_json_texts_is_the_envelope_of_the_objects(app, count, chunk_size):
    objects = [{"id": f"LOC{i}", "n": i, "evses": [{"uid": str(i), "s": "ä" * i}]} for i in range(count)]
    with app.test_request_context("/", headers={"Accept-Encoding": "gzip"}):
        response = ocpi_response_of_json((json.dumps(obj) for obj in objects), chunk_size=chunk_size)
        body = response.get_data()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
    document = json.loads(body)
    assert list(document) == ["status_code", "status_message", "timestamp", "data"]
    assert document["status_code"] == 1000 and document["data"] == objects
