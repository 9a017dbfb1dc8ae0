"""OCPI on the ground floor: the 2.3.0 domain model (pydantic schemas, kept apart from the
database tables), ids and values, conversion to older versions, and the protocol pieces both
harvesters and exporters use (versions, envelope, paging, findings)."""
