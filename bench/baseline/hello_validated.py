"""A second, informational reference (not the target's baseline): the same hello-world with
`APIGatewayRestResolver(enable_validation=True)`, which every omp HTTP handler uses (pydantic
request/response validation and the OpenAPI models). It separates what the validation feature
costs from what om-platform's own code costs.
"""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

app = APIGatewayRestResolver(enable_validation=True)


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
