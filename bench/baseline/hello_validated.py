"""A second, informational reference (not the target's baseline): the same hello-world with
`APIGatewayRestResolver(enable_validation=True)` (powertools' pydantic request/response
validation and its OpenAPI models). The omp HTTP handlers do not use it: they validate with their
own pydantic models through `omp.runtime.http`. This row shows what that design avoided.
"""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver

app = APIGatewayRestResolver(enable_validation=True)


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
