"""schemathesis against /openapi.json: every public operation, with generated parameters,
never answers 5xx and always answers what the document says.

Fails without the protection: it found that a huge `offset` overflowed the database's
integer and answered 500; without the MAX_OFFSET cap in nap/ocpi/paging.py it fails
again (checked)."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from tests.harvest_helpers import register_and_harvest


def test_every_operation_under_generated_input(demo_cpo, nap_server, sessions, settings):
    assert register_and_harvest(sessions, settings, demo_cpo(locations=5)).status == "success"
    schema = schemathesis.openapi.from_url(f"{nap_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures = []
    for operation in operations:
        @given(case=operation.as_strategy())
        @hypothesis_settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exercise(case):
            response = case.call(base_url=nap_server.url)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            exercise()
        except Exception as error:  # collect all operations' failures, then report them together
            failures.append(f"{operation.label}: {str(error)[:500]}")
    assert not failures, "\n".join(failures)
