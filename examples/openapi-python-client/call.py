"""Calls Hourglass through the Python client OpenAPI Generator made from openapi.json (see the test beside it).

Usage: python3 call.py BASE_URL. Prints one JSON document: what the calls returned.
"""

import json
import sys

import hourglass_client
from hourglass_client.rest import ApiException

configuration = hourglass_client.Configuration(host=sys.argv[1])
with hourglass_client.ApiClient(configuration) as client:
    jobs = hourglass_client.JobsApi(client)
    created = jobs.create_job({"type": "echo", "payload": {"from": "python"}, "priority": 5})
    fetched = jobs.get_job(created.id)
    try:
        jobs.get_job(987654321)
        missing = None
    except ApiException as err:
        missing = {"status": err.status, "body": json.loads(err.body)}
    timer = hourglass_client.TimersApi(client).create_timer({"url": "https://8.8.8.8/hook", "seconds": 3600})

print(
    json.dumps(
        {
            "created": {"id": created.id, "type": created.type, "status": created.status},
            "fetched": {"id": fetched.id, "payload": fetched.payload, "priority": fetched.priority},
            "missing": missing,
            "timer": {"id": timer.id, "time_left": timer.time_left},
        }
    )
)
