"""API Gateway (REST API, v1) semantics: route matching, proxy and authorizer events, policies."""

from __future__ import annotations

import base64
import datetime as dt
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from infra import wiring
from infra.local import names

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's hard limit on request payloads


@dataclass(frozen=True)
class Route:
    function: str
    method: str
    template: str
    permission: str
    pattern: re.Pattern[str]
    params: tuple[str, ...]
    rank: tuple[int, ...]  # per segment: 0 literal, 1 {param}, 2 {greedy+}; lower wins


def compile_route(fn: wiring.Function, trigger: wiring.HttpRoute) -> Route:
    regex, params, rank = [], [], []
    for segment in trigger.path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            params.append(segment[1:-2])
            regex.append(f"(?P<{segment[1:-2]}>.+)")
            rank.append(2)
        elif segment.startswith("{") and segment.endswith("}"):
            params.append(segment[1:-1])
            regex.append(f"(?P<{segment[1:-1]}>[^/]+)")
            rank.append(1)
        else:
            regex.append(re.escape(segment))
            rank.append(0)
    return Route(
        function=fn.name,
        method=trigger.method,
        template=trigger.path,
        permission=trigger.permission,
        pattern=re.compile("^/" + "/".join(regex) + "$"),
        params=tuple(params),
        rank=tuple(rank),
    )


class Router:
    def __init__(self, functions: Iterable[wiring.Function]) -> None:
        self.routes = sorted(
            (
                compile_route(fn, fn.trigger)
                for fn in functions
                if isinstance(fn.trigger, wiring.HttpRoute)
            ),
            key=lambda r: r.rank,
        )

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path parameters, whether the path exists for some other method)."""
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        matches = [(r, m) for r in self.routes if (m := r.pattern.match(path))]
        if not matches:
            return None, {}, False
        resource = matches[0][0].template  # the most specific template owns the path
        for route, m in matches:
            if route.template == resource and route.method == method:
                return route, {k: unquote(v) for k, v in m.groupdict().items()}, True
        return None, {}, True


@dataclass
class Request:
    method: str
    path: str  # raw path, percent-encoded
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    request_id: str = ""

    def __post_init__(self) -> None:
        self.request_id = self.request_id or str(uuid.uuid4())

    def header(self, name: str) -> str | None:
        value = None
        for key, v in self.headers:
            if key.lower() == name.lower():
                value = v
        return value


def _single_and_multi(
    pairs: list[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value  # API Gateway keeps the last value
        multi.setdefault(key, []).append(value)
    return single, multi


def request_context(
    req: Request, route: Route, authorizer: dict[str, Any] | None
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    ctx: dict[str, Any] = {
        "accountId": names.ACCOUNT_ID,
        "apiId": names.API_ID,
        "resourceId": route.function,
        "resourcePath": route.template,
        "httpMethod": req.method,
        "path": f"/{names.STAGE}{unquote(req.path)}",
        "stage": names.STAGE,
        "requestId": req.request_id,
        "extendedRequestId": req.request_id,
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(time.time() * 1000),
        "protocol": "HTTP/1.1",
        "domainName": req.header("Host") or "localhost",
        "identity": {
            "sourceIp": req.source_ip,
            "userAgent": req.header("User-Agent"),
            "accountId": None,
            "apiKey": None,
            "caller": None,
            "user": None,
            "userArn": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
        },
    }
    if authorizer is not None:
        ctx["authorizer"] = authorizer
    return ctx


def _common(req: Request, route: Route, params: dict[str, str]) -> dict[str, Any]:
    headers, multi_headers = _single_and_multi(req.headers)
    query, multi_query = _single_and_multi(parse_qsl(req.query, keep_blank_values=True))
    return {
        "resource": route.template,
        "path": unquote(req.path),
        "httpMethod": req.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": params or None,
        "stageVariables": None,
    }


def authorizer_event(req: Request, route: Route, params: dict[str, str]) -> dict[str, Any]:
    event = {
        "type": "REQUEST",
        "methodArn": names.method_arn(req.method, unquote(req.path)),
        **_common(req, route, params),
    }
    event["requestContext"] = request_context(req, route, None)
    return event


def proxy_event(
    req: Request, route: Route, params: dict[str, str], authorizer: dict[str, Any] | None
) -> dict[str, Any]:
    event = _common(req, route, params)
    event["requestContext"] = request_context(req, route, authorizer)
    if not req.body:
        event["body"], event["isBase64Encoded"] = None, False
    else:
        try:
            event["body"], event["isBase64Encoded"] = req.body.decode("utf-8"), False
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(req.body).decode(), True
    return event


class AuthorizerMisconfigured(Exception):
    """The authorizer returned something API Gateway rejects (it answers 500)."""


def authorizer_context(result: Any) -> dict[str, Any]:
    """requestContext.authorizer from an authorizer's answer: principalId plus its context,
    whose values API Gateway passes on as strings (objects and arrays are rejected)."""
    if not isinstance(result, dict) or not isinstance(result.get("principalId"), str):
        raise AuthorizerMisconfigured("the authorizer must return a principalId")
    out: dict[str, Any] = {"principalId": result["principalId"], "integrationLatency": 0}
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise AuthorizerMisconfigured("the authorizer's context must be an object")
    for key, value in context.items():
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            out[key] = str(value)
        elif value is None:
            continue
        else:
            raise AuthorizerMisconfigured(f"authorizer context value {key!r} is not a scalar")
    return out


def _wildcard(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$")


def policy_allows(result: dict[str, Any], method_arn: str) -> bool:
    """IAM evaluation of the returned policy for `execute-api:Invoke` on the method ARN."""
    doc = result.get("policyDocument")
    if not isinstance(doc, dict):
        raise AuthorizerMisconfigured("the authorizer must return a policyDocument")
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    allowed = False
    for st in statements:
        if not isinstance(st, dict):
            raise AuthorizerMisconfigured("malformed policy statement")
        actions = st.get("Action", [])
        resources = st.get("Resource", [])
        actions = [actions] if isinstance(actions, str) else list(actions)
        resources = [resources] if isinstance(resources, str) else list(resources)
        if not any(_wildcard(str(a)).match("execute-api:Invoke") for a in actions):
            continue
        if not any(_wildcard(str(r)).match(method_arn) for r in resources):
            continue
        if st.get("Effect") == "Deny":
            return False
        if st.get("Effect") == "Allow":
            allowed = True
    return allowed
