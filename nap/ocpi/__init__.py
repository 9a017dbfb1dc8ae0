"""The OCPI 2.3.0 domain model: pydantic schemas, kept apart from the database tables."""
