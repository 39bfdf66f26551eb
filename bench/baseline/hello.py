"""The cold-start baseline: a bare aws-lambda-powertools hello-world handler.

One `APIGatewayRestResolver` (default settings) with one GET route returning {"hello": "world"}.
bench.cold_start imports it in a fresh process exactly like each catalog handler.
"""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

app = APIGatewayRestResolver()


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
