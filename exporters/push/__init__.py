"""Push delivery of DATEX II documents to subscribers (Germany's Mobilithek takes AFIR data
this way): an administrator registers an HTTPS endpoint, a profile and a kind; the worker
POSTs the documents to it, gzip-compressed, over the SSRF guard, with an auth header and/or
a client certificate (mutual TLS).

- subscribers.py: registration, listing, removal (the CLI and the portal call it)
- documents.py: which document a profile and kind make (exporters/datex2/de_afir)
- transport.py: the HTTPS POST, TLS and the guard
- engine.py: what is due for whom, one delivery under a lease, its record (`deliver_due`)
- loop.py: the worker's loop, ticking ten times a second
"""
