"""gzip for API responses, as an after_request hook of the whole app.

OCPI location pages are large and repetitive JSON (a full page shrinks about tenfold), so
compressing them saves consumers more time than it costs us. Streamed responses (the
DATEX II exports) are left alone: they are written chunk by chunk and never held in memory.

`chunked_response()` gives the same answer for a body produced in parts (the OCPI location
pages): each part is compressed in a background thread while the next is still being
produced (zlib releases the GIL), instead of all 5 MB at the end on one core.

`GzipJoin` makes one gzip stream of `Piece`s compressed apart, at other times (the DATEX II
status segments), or in other processes (the parts of a bulk file written in parallel),
without compressing anything again.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gzip
import io
import os
import shutil
import struct
import threading
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Iterator

from flask import Response, request

COMPRESSIBLE = {"application/json", "application/geo+json", "text/html", "text/plain", "text/css",
                "application/javascript", "application/xml", "text/xml"}
MIN_SIZE = 1024  # below this the gzip header and CPU are not worth it
LEVEL = 5  # close to level 9's ratio on JSON at less than half its CPU time


def _compressible(response: Response) -> bool:
    return not (response.status_code < 200 or response.status_code in (204, 304) or response.is_streamed
            or response.direct_passthrough or "Content-Encoding" in response.headers
            or response.mimetype not in COMPRESSIBLE)


def _client_takes_gzip() -> bool:
    return request.method != "HEAD" and request.accept_encodings["gzip"] > 0


def _mark_gzipped(response: Response) -> None:
    response.headers["Content-Encoding"] = "gzip"
    # A strong ETag promises identical bytes; the gzipped body is only equivalent.
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)


def gzip_response(response: Response) -> Response:
    if not _compressible(response):
        return response
    # Whether we compress depends on the request's Accept-Encoding: caches must know.
    response.vary.add("Accept-Encoding")
    if not _client_takes_gzip():
        return response
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    response.set_data(gzip.compress(body, compresslevel=LEVEL, mtime=0))
    _mark_gzipped(response)
    return response


# -- bodies produced in parts ---------------------------------------------------------------

PIECE_SIZE = 256 * 1024  # compressed independently: a larger piece gains almost nothing more
COMPRESSING_THREADS = 2
WINDOW = 32 * 1024
# gzip member header (RFC 1952): deflate, no flags, no mtime (as gzip.compress(mtime=0)), unknown OS.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

_executors: dict[int, tuple[ThreadPoolExecutor, ThreadPoolExecutor]] = {}
_executors_lock = threading.Lock()


def _executors_here() -> tuple[ThreadPoolExecutor, ThreadPoolExecutor]:
    """This process's threads (created on first use: gunicorn forks its workers): those that
    deflate, and one that checksums the pieces in the order they were written."""
    pid = os.getpid()
    with _executors_lock:
        if pid not in _executors:
            _executors[pid] = (ThreadPoolExecutor(COMPRESSING_THREADS, thread_name_prefix="gzip"),
                               ThreadPoolExecutor(1, thread_name_prefix="gzip-crc"))
        return _executors[pid]


def _crc_after(previous: Future | None, data: bytes) -> int:
    # Run by the single checksum thread in submission order: `previous` is already done.
    return zlib.crc32(data, previous.result() if previous is not None else 0)


def _deflate(data: bytes, history: bytes, last: bool) -> bytes:
    # Primed with the 32 KiB before the piece (deflate's whole window), it may refer back to
    # them as one compressor would have: the pieces compress (almost) as well as the whole.
    compressor = (zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=history) if history
                  else zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS))
    # A sync flush ends the piece on a byte boundary without ending the stream, so that the
    # next piece's raw deflate data can follow it: together one deflate stream (as pigz does).
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class GzipPieces:
    """One gzip member of a body written in parts, its pieces compressed in the background."""

    def __init__(self):
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._pieces: list[Future] = []
        self._crc: Future | None = None  # of all data submitted so far
        self._size = 0
        self._history = b""

    def write(self, data: bytes) -> None:
        self._size += len(data)
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered >= PIECE_SIZE:
            self._submit(last=False)

    def _submit(self, last: bool) -> None:
        data = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        deflating, checksumming = _executors_here()
        # The checksum too is left to a thread: in the writing thread, getting the GIL back
        # after each crc32 takes longer than the crc32 itself while the pieces are deflated.
        self._crc = checksumming.submit(_crc_after, self._crc, data)
        self._pieces.append(deflating.submit(_deflate, data, self._history, last))
        self._history = (self._history + data)[-WINDOW:]

    def close(self) -> bytes:
        self._submit(last=True)
        trailer = struct.pack("<II", self._crc.result() & 0xFFFFFFFF, self._size & 0xFFFFFFFF)
        return b"".join([_GZIP_HEADER, *(piece.result() for piece in self._pieces), trailer])

    def cancel(self) -> None:
        for piece in self._pieces:
            piece.cancel()


def chunked_response(chunks: Iterable[bytes], mimetype: str = "application/json") -> Response:
    """A 200 response whose body is the concatenated `chunks`, gzipped exactly when
    gzip_response would have gzipped it, but compressed while the chunks are produced."""
    response = Response(status=200, mimetype=mimetype)
    if not _compressible(response):
        response.set_data(b"".join(chunks))
        return response
    response.vary.add("Accept-Encoding")
    if not _client_takes_gzip():
        response.set_data(b"".join(chunks))
        return response
    plain: list[bytes] = []
    pieces = GzipPieces()
    try:
        for chunk in chunks:
            plain.append(chunk)
            pieces.write(chunk)
    except BaseException:
        pieces.cancel()
        raise
    if sum(len(chunk) for chunk in plain) < MIN_SIZE:
        pieces.cancel()
        response.set_data(b"".join(plain))
        return response
    response.set_data(pieces.close())
    _mark_gzipped(response)
    return response


# -- pieces compressed apart, joined later -----------------------------------------------------
# A DATEX II status delta is joined from segments compressed when they were written
# (exporters/datex2/status_segments.py). Concatenated gzip members are valid gzip, but
# Chromium reads only the first. So each piece is raw deflate data of a fresh compressor
# ended by a sync flush (_deflate): pieces so made follow each other as one deflate stream.
# The joiner adds the header, a final empty block, and a trailer whose CRC-32 is combined
# from the pieces' own (zlib's crc32_combine: the data is never read again).

# An empty final block with fixed Huffman codes: the end of the deflate stream.
_FINAL_BLOCK = b"\x03\x00"


def _load_crc32_combine():
    # Python's zlib module does not offer crc32_combine; the zlib library it is built on does.
    library = ctypes.util.find_library("z")
    if library is None:
        return None
    combine = getattr(ctypes.CDLL(library), "crc32_combine64", None)  # zlib 1.2.3 and later
    if combine is None:
        return None
    combine.restype = ctypes.c_ulong
    combine.argtypes = [ctypes.c_ulong, ctypes.c_ulong, ctypes.c_int64]
    return combine


_COMBINE = _load_crc32_combine()


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A+B from those of A and B and the length of B."""
    if _COMBINE is not None:
        return _COMBINE(crc1, crc2, length2) & 0xFFFFFFFF
    # Without the library: the CRC is affine in its start value, so A's CRC carried over
    # length2 zero bytes, less the carry of 0, plus B's (slower: it reads length2 bytes,
    # a block of zeros at a time, B being as large as a part of a national table).
    carried, carry_of_zero = crc1, 0
    zeros = bytes(min(length2, 1 << 20))
    for start in range(0, length2, len(zeros) or 1):
        block = zeros[:min(len(zeros), length2 - start)]
        carried, carry_of_zero = zlib.crc32(block, carried), zlib.crc32(block, carry_of_zero)
    return carried ^ carry_of_zero ^ crc2


@dataclass(frozen=True)
class Piece:
    deflated: bytes
    crc: int  # CRC-32 of the plain bytes
    size: int  # length of the plain bytes

    @classmethod
    def of(cls, plain: bytes) -> Piece:
        writer = PieceWriter()
        writer.write(plain)
        return writer.piece()

    def plain(self) -> bytes:
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(self.deflated)


class DeflateWriter:
    """Raw deflate data of what is written (write(), as a file), compressed as it comes and
    written into `out` at once: the plain bytes are never held whole. finish() ends it as
    a piece ends (a sync flush) and gives the CRC-32 and length of the plain bytes, with
    which GzipJoin takes it (add_deflated)."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._compressor = zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._crc, self._size = 0, 0

    def write(self, data: bytes) -> int:
        self._out.write(self._compressor.compress(data))
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        return len(data)

    @property
    def size(self) -> int:
        return self._size

    def finish(self) -> tuple[int, int]:
        """(CRC-32, length) of the plain bytes; write no more after it."""
        self._out.write(self._compressor.flush(zlib.Z_SYNC_FLUSH))
        return self._crc, self._size


class PieceWriter:
    """A Piece written in parts (write(), as a file), compressed as they come: its plain
    bytes are never held whole (a status segment of a big tariff change is hundreds of MB
    of XML)."""

    def __init__(self) -> None:
        self._deflated = io.BytesIO()
        self._writer = DeflateWriter(self._deflated)

    def write(self, data: bytes) -> int:
        return self._writer.write(data)

    def piece(self) -> Piece:
        """The piece, ended by a sync flush (as _deflate ends one); write no more after it."""
        crc, size = self._writer.finish()
        return Piece(self._deflated.getvalue(), crc, size)


class GzipJoin:
    """Write to `out` as one gzip stream: plain bytes (write(), as a file, compressed as
    they come), pieces compressed before (add()) and raw deflate data another process
    wrote with a DeflateWriter (add_deflated()), in any order; then finish()."""

    def __init__(self, out: BinaryIO) -> None:
        self._out, self._crc, self._size = out, 0, 0
        self._plain: DeflateWriter | None = None  # compressing what write() gets since the last piece
        out.write(_GZIP_HEADER)

    def write(self, data: bytes) -> int:
        if not data:
            return 0
        if self._plain is None:
            self._plain = DeflateWriter(self._out)
        return self._plain.write(data)

    def _count(self, crc: int, size: int) -> None:
        self._crc = crc32_combine(self._crc, crc, size)
        self._size += size

    def _end_plain(self) -> None:
        # A piece's data may not refer back into the plain bytes before it: their
        # compressor ends here (sync flush), and write() starts a fresh one after.
        if self._plain is not None:
            self._count(*self._plain.finish())
            self._plain = None

    def add(self, piece: Piece) -> None:
        self._end_plain()
        self._out.write(piece.deflated)
        self._count(piece.crc, piece.size)

    def add_deflated(self, source: BinaryIO, crc: int, size: int) -> None:
        """What a DeflateWriter wrote into `source` (read from where it stands), with what
        its finish() gave."""
        self._end_plain()
        shutil.copyfileobj(source, self._out, 1 << 20)
        self._count(crc, size)

    def add_plain(self, data: bytes) -> None:
        self.write(data)

    @property
    def name(self) -> str:
        """The file's name, when it is written into a file that has one (AttributeError if
        not, as for any file object without a name)."""
        return self._out.name

    @property
    def size(self) -> int:
        """How many plain bytes the stream holds once finished (all of them after finish())."""
        return self._size + (self._plain.size if self._plain is not None else 0)

    def finish(self) -> None:
        self._end_plain()
        self._out.write(_FINAL_BLOCK)
        self._out.write(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))


@contextmanager
def gzip_file(path: str | os.PathLike) -> Iterator[GzipJoin]:
    """A gzip file to write into, one member. Its header has no time and no name: the same
    data gives the same file, and so the same SHA-256. Left unfinished if the writing fails
    (its caller removes it)."""
    with open(path, "wb") as raw:
        out = GzipJoin(raw)
        yield out
        out.finish()


class PlainJoin:
    """GzipJoin's counterpart for a client that takes no gzip: the pieces' plain bytes."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def add(self, piece: Piece) -> None:
        self._out.write(piece.plain())

    def add_plain(self, data: bytes) -> None:
        self._out.write(data)

    def finish(self) -> None:
        pass
