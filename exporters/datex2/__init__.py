"""DATEX II 3.7 Energy Infrastructure writer (EU AFIR / Implementing Regulation 2025/655).

Turns OCPI 2.3.0 Locations into DATEX II table (static) and status (dynamic) publications,
in the generic model (egi/fac) or the AFIR model (aegi/afac):

    from exporters.datex2.table import write_table
    from exporters.datex2.status import write_status

Module map: namespaces (profiles), mapping (value tables), ocpi (defensive input readers),
identity (ids/versions), selection (what is published), site/charging_point/connector/
parking/organisation/opening_hours/energy/tariffs/location_reference (element builders),
sequences (xs:sequence orders), xmlbuild (lxml helpers), publication (streamed envelope and
the per-location loop). The tests check every document against the XSD (tests/xsd.py).
The OCPI -> DATEX II mapping is documented in docs/datex2-mapping.md.
"""
