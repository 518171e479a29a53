"""The bench's SQL count, as a test: a ``register_client_capabilities`` step stays within
``bench.queries.CAPABILITY_STEP_TARGET`` SQL statements (transaction control not counted).

It counts queries, never time. ``slow``: run by ``bin/test`` (on PostgreSQL) and CI.
"""

import pytest

from bench.queries import CAPABILITY_STEP_TARGET, count_queries


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the step's own transaction, as on a server
def test_capability_step_sql_statement_count():
    steps = {step.name: step for step in count_queries()}

    init = steps["POST /login (init)"]
    assert init.status == 200
    step = steps["register_client_capabilities"]
    assert step.status == 200, "the step did not answer 200 with state login_init"
    assert len(step.statements) <= CAPABILITY_STEP_TARGET, "\n".join(step.sql)
    baseline = steps["baseline SELECT+UPDATE"]
    assert baseline.status == 200
    assert len(baseline.statements) == 2, "\n".join(baseline.sql)
