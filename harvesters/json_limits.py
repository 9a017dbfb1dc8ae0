"""Limits on what a CPO's JSON may look like before we parse it.

Nesting depth is measured without a Python loop over the document, in C-speed steps:
escaped backslashes and quotes are dropped, every byte but brackets and quotes is deleted,
strings (now only brackets between quotes) are blanked, and the innermost containers are
collapsed one level per regex pass. A page of OCPI objects is about 8 levels deep, so the
check costs a fraction of the parse, and a hostile document is rejected as soon as it is
found deeper than the limit.
"""
from __future__ import annotations

import re

_KEEP = b'[]{}"'
_DELETE = bytes(b for b in range(256) if b not in _KEEP)
_STRING = re.compile(rb'"[^"]*"')
_INNERMOST = re.compile(rb"\{[^{}\[\]]*\}|\[[^{}\[\]]*\]")


def nesting_exceeds(body: bytes, max_depth: int) -> bool:
    if b"\\" in body:  # a byte search; most pages have no backslash and skip two copies
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = body.translate(None, _DELETE)
    if skeleton.count(b'"') % 2 == 0:
        # With quotes paired (any valid JSON), two adjacent quotes are an empty string or the
        # end of one string and the start of the next: dropping them keeps every structural
        # bracket outside strings and every other one inside, and spares the regex below most
        # of its (slow) matches. Unpaired quotes (broken JSON) take the plain way.
        skeleton = skeleton.replace(b'""', b"")
    skeleton = _STRING.sub(b"", skeleton)
    for _ in range(max_depth):
        skeleton, collapsed = _INNERMOST.subn(b"", skeleton)
        if not collapsed:
            return False
    return bool(_INNERMOST.search(skeleton))
