"""The producing half of a harvest (harvesters/pages.py: fetch and normalize) in a process
of its own, so that it runs on another core than the store. One interpreter runs one
thread at a time, and a large harvest is CPU-bound on both halves: in one process they
took turns.

The child is `python -m harvesters.page_process`, started with subprocess (no
multiprocessing: nothing of the parent's __main__ or threads is re-imported or copied). It
imports only the client and the normalizer (about 40 MB, 0.2 s). It reads its job, pickled,
from stdin (the feed's token never shows in argv or the environment), fetches the next
page while it normalizes this one, and writes messages to stdout, read straight from the
pipe: ("item", ...) for each object as soon as it is normalized, ("page", ...) with the
page's figures and findings after its items, then ("end", the token form its client ended
with: OcpiClient.plain_token), or ("error", ...). The
pipe and its buffers hold about 3 MB: beyond the page it prefetches, the child is never
further ahead of the parent than that, whatever the feed's size. Its environment holds
none of NAP's settings (database URL, keys).

The parent unpickles plain values only (`_PlainUnpickler`, see the wire format): the child
digests what the CPO sent, and if that ever went wrong, the parent still only accepts data.
The child has no state worth keeping: a run that ends kills it.
"""
from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import threading
import traceback
from contextlib import closing
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator


from harvesters.answer_waits import AnswerWaits, ReportedWaits
from nap.ocpi.findings import ObjectFinding, UnitCounts
from harvesters.normalize.common import FeedIdentity
from harvesters.ocpi_client import ClientLimits, CredentialsRejected, HarvestError, OcpiClient
from harvesters.pages import NormalizedPage, normalize_page
from harvesters.prefetch import prefetched
from nap.observability.logs import JsonFormatter, configure_logging
from nap.runtime import fewer_collections
from nap.store.rows import Prepared, prepare

log = logging.getLogger(__name__)


@dataclass
class PageJob:
    """Everything the child needs for one module's pull."""
    token: str
    limits: ClientLimits
    plain_token: bool  # how the harvest's client sends the token, as discovery showed (OcpiClient)
    routing: dict[str, str]  # the harvest's routing headers (OcpiClient.routing)
    version: str  # the OCPI version of the objects
    identity: FeedIdentity
    kind: str
    url: str
    limit: int
    date_from: str | None
    # The harvest process's log level and format: the child's lines (retries, for one) look
    # like the rest of the worker's log.
    log_level: int = field(default_factory=lambda: logging.getLogger().getEffectiveLevel())
    json_logs: bool = field(default_factory=lambda: any(
        isinstance(handler.formatter, JsonFormatter) for handler in logging.getLogger().handlers))
    # A wait for one answer that lasts this long is reported while it goes on (the worker
    # lets a run held up by its CPO step aside): half NAP_HARVEST_SLOW_ANSWER_SECONDS.
    report_waits_after: float = 2.5


# Objects cross one by one (a few kB each): buffered by the megabyte on both sides, and a
# pipe widened to match where Linux allows, they cost few system calls and process switches.
_BUFFER_BYTES = 1 << 20


def _child_environment() -> dict[str, str]:
    """The worker's environment without NAP's settings: the child gets what it needs in its
    job, and has no use for the database URL or the keys."""
    return {name: value for name, value in os.environ.items() if not name.startswith("NAP_")}


def _widen(pipe) -> None:
    try:
        import fcntl
        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _BUFFER_BYTES)
    except (ImportError, OSError):
        pass  # not Linux, or above the system's limit: the default size works, slower


class PageProcessError(Exception):
    """The page process failed in a way that is not the CPO's doing (a bug, or it died)."""


# -- the wire format ---------------------------------------------------------------------
# Pages travel as plain tuples, lists, strings, bytes and numbers: a pickle of plain values
# needs no class on the parent's side, which therefore allows none. Each normalized
# document goes as its JSON text (serialized as soon as it is normalized), the raw object as
# the bytes the store writes: two values per object. The harvest process parses the
# document and prepares a location's rows as it receives it (content hash, JSON texts:
# nap.store.rows): that work is off the page process, which sets the pace, and a page
# waiting to be stored holds rows, not documents. A page's unit counts go as the nested
# dict of UnitCounts.as_dict().


def _item_from_wire(kind: str, item: tuple[bytes, bytes]) -> Prepared:
    return prepare(kind, *item)


def _page_to_wire(page: NormalizedPage) -> tuple:
    """A page without its items, which went ahead of it one by one."""
    return (page.kind, page.byte_count, page.total_count, page.received,
            # Plain strings: the parent unpickles no class (an ObjectKind is a str subclass).
            [(str(f.object_type), f.object_id, f.field, f.reason, f.severity) for f in page.findings],
            page.seen_ids, page.skipped, page.counts.as_dict())


def _page_from_wire(wire: tuple, items: list) -> NormalizedPage:
    kind, byte_count, total_count, received, findings, seen_ids, skipped, counts = wire
    return NormalizedPage(
        kind, byte_count, total_count, received, items=items,
        findings=[ObjectFinding(*values) for values in findings],
        seen_ids=seen_ids, skipped=skipped, counts=UnitCounts.from_dict(counts))


# -- the child ---------------------------------------------------------------------------

def _write_frame(out: BinaryIO, message: tuple, flush: bool = True) -> None:
    pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
    if flush:
        out.flush()


def _produce(job: PageJob, out: BinaryIO) -> None:
    lock = threading.Lock()  # the fetching thread reports long waits (ReportedWaits) between the items

    def frame(message: tuple, flush: bool = True) -> None:
        with lock:
            _write_frame(out, message, flush)

    try:
        with OcpiClient(job.token, job.limits, waits=ReportedWaits(frame, job.report_waits_after)) as client:
            client.plain_token, client.routing = job.plain_token, job.routing
            # The next page is fetched (and the CPO composes it) while this one is normalized.
            pages = prefetched(client.pages(job.url, limit=job.limit, date_from=job.date_from))
            with closing(pages):
                for page in pages:
                    # Each object is sent as soon as it is normalized, then the page's figures.
                    normalized = normalize_page(job.kind, page, job.version, job.identity,
                                                send=lambda item: frame(("item", item), flush=False))
                    del page
                    frame(("page", _page_to_wire(normalized)))
            learned = client.plain_token
        frame(("end", learned))
    except (HarvestError, CredentialsRejected) as error:  # the CPO's doing: reported as it is
        frame(("error", (type(error).__name__, str(error))))
    except BrokenPipeError:  # the parent stopped reading: the run is over
        pass
    except BaseException as error:
        frame(("crash", (f"{type(error).__name__}: {error}", traceback.format_exc())))


def _child_main() -> None:
    # Frames own the real stdout; whatever else prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb", buffering=_BUFFER_BYTES)
    os.dup2(2, 1)
    try:
        job = pickle.load(sys.stdin.buffer)
    except EOFError:
        return  # started ahead, and the run ended before its Locations
    configure_logging(job.log_level, job.json_logs)
    # As in the harvest process: the imported modules out of the collector's way, fewer
    # collections (a page allocates a few hundred thousand containers, none of them cyclic).
    with fewer_collections():
        _produce(job, out)


# -- the parent --------------------------------------------------------------------------

class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"the page process sent {module}.{name}; a page holds plain values only")


class PageProcess:
    """A child producing one module's pages: start(job), iterate pages(), then close().
    Started before it gets its job, the child does its imports (0.2 s) meanwhile."""

    def __init__(self) -> None:
        # The token form the child's client ended with, once it has ended: the CPO may have
        # refused the one it was given (OcpiClient.request).
        self.plain_token: bool | None = None
        self._process = subprocess.Popen(
            [sys.executable, "-m", "harvesters.page_process"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            close_fds=True, bufsize=_BUFFER_BYTES, env=_child_environment())
        _widen(self._process.stdout)

    def start(self, job: PageJob) -> None:
        self._kind = job.kind
        try:
            self._process.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
            self._process.stdin.close()
        except BrokenPipeError:
            pass  # it died at once: pages() says so

    def _receive(self) -> tuple:
        try:
            return _PlainUnpickler(self._process.stdout).load()
        except (EOFError, pickle.UnpicklingError):
            # A child killed mid-write leaves half a message: that is its end, not a refusal.
            try:
                code = self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                raise  # it runs, and sent what no message holds
            raise PageProcessError(f"the page process ended unexpectedly (exit code {code})") from None

    def pages(self, waits: AnswerWaits | None = None) -> Iterator[NormalizedPage]:
        """The pages; `waits` hears of the child's long waits for its CPO, and of its
        retries, as they happen."""
        items: list = []
        while True:
            what, value = self._receive()
            if what == "item":
                items.append(_item_from_wire(self._kind, value))  # prepared as it arrives
            elif what == "wait":
                key, since = value
                if waits is not None:
                    waits.began(("page process", key), since)
            elif what == "answered":
                key, seconds = value
                if waits is not None:
                    waits.ended(("page process", key), seconds)
            elif what == "retried":
                if waits is not None:
                    waits.retried()
            elif what == "page":
                page, items = _page_from_wire(value, items), []
                yield page
                del page
            elif what == "end":
                self.plain_token = value
                return
            elif what == "error":
                kind, message = value
                raise (CredentialsRejected if kind == "CredentialsRejected" else HarvestError)(message)
            else:
                summary, trace = value
                log.error("the page process failed: %s", trace)
                raise PageProcessError(f"in the page process: {summary}")

    def close(self) -> None:
        """Ends the child at once, whatever it is doing: it holds nothing worth keeping."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        try:
            self._process.stdin.close()  # still open when it never got a job
        except BrokenPipeError:
            pass
        self._process.stdout.close()


if __name__ == "__main__":
    _child_main()
