"""The OCPI versions NAP speaks, in one place.

NAP stores one version and converts at the edges: every version it harvests is upgraded to
STORED on the way in (harvesters/normalize), and every version it publishes is converted
down from it on the way out (nap.ocpi.downgrade).
"""
from __future__ import annotations

STORED = "2.3.0"

# What NAP harvests, in the order it prefers them when a CPO offers several. "2.2" is the
# short-lived predecessor of 2.2.1 that some CPOs still announce; it is read as 2.2.1.
HARVESTED = ("2.3.0", "2.2.1", "2.2", "2.1.1")

# What the publication API serves and where CPOs can push (the receiver interface of 2.1.1
# differs and no CPO asked for it), newest first as /ocpi/versions lists them.
PUBLISHED = ("2.3.0", "2.2.1")
RECEIVED = PUBLISHED

# What nap.ocpi.downgrade can write: the published versions and 2.1.1, which the demo CPO
# serves so that NAP's own 2.1.1 harvesting is tested against a real server.
CONVERTIBLE = ("2.3.0", "2.2.1", "2.1.1")
