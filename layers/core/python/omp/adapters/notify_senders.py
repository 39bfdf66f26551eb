"""Sending notifications: SNS publish, Slack / Microsoft Teams / generic HTTPS webhooks over
stdlib urllib (timeouts, no redirects followed), secrets read from Secrets Manager.

Every failure is a `DeliveryError` (retryable or not); the service retries with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from typing import Any

from omp.adapters.aws import client
from omp.domain import notifications as n
from omp.domain.notifications import DeliveryError, Notification
from omp.domain.routing_config import (
    MsTeamsIntegration,
    SecretRef,
    SlackIntegration,
    SnsIntegration,
    WebhookIntegration,
)

HTTP_TIMEOUT_S = 5.0
SECRET_CACHE_S = 300.0
_USER_AGENT = "om-platform-notify/1"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook that redirects is misconfigured; following it could leak the body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpTransport:
    def __init__(self, timeout_s: float = HTTP_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._opener = urllib.request.build_opener(_NoRedirect)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, data=body, method="POST")
        for name, value in {"Content-Type": "application/json", "User-Agent": _USER_AGENT}.items():
            request.add_header(name, value)
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with self._opener.open(request, timeout=self.timeout_s) as answer:
                answer.read(1024)
                status = int(answer.status)
        except urllib.error.HTTPError as exc:
            status = int(exc.code)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DeliveryError(f"POST failed: {type(exc).__name__}: {exc}") from exc
        if status >= 300:
            raise DeliveryError(
                f"the endpoint answered HTTP {status}", retryable=n.retryable_status(status)
            )
        return status


class SecretsReader:
    """Secret values by reference, cached a few minutes per warm container."""

    def __init__(self, ttl_s: float = SECRET_CACHE_S) -> None:
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, str]] = {}

    def value(self, ref: SecretRef) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        cached = self._cache.get(ref.secret_id)
        if cached is None or time.monotonic() - cached[0] > self.ttl_s:
            try:
                answer = client("secretsmanager").get_secret_value(SecretId=ref.secret_id)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                permanent = code in ("ResourceNotFoundException", "AccessDeniedException")
                raise DeliveryError(
                    f"secret {ref.secret_id}: {code}", retryable=not permanent
                ) from exc
            except BotoCoreError as exc:
                raise DeliveryError(f"Secrets Manager unreachable: {exc}") from exc
            cached = (time.monotonic(), str(answer.get("SecretString") or ""))
            self._cache[ref.secret_id] = cached
        raw = cached[1]
        if ref.json_key is None:
            return raw.strip()
        try:
            value = json.loads(raw)[ref.json_key]
        except (ValueError, KeyError, TypeError) as exc:
            raise DeliveryError(
                f"secret {ref.secret_id} has no JSON key {ref.json_key}", retryable=False
            ) from exc
        return str(value).strip()


class SnsTopics:
    def publish(self, topic_arn: str, subject: str, message: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client("sns").publish(TopicArn=topic_arn, Subject=subject, Message=message[:250_000])
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            permanent = code in ("NotFound", "AuthorizationError", "InvalidParameter")
            raise DeliveryError(f"SNS publish: {code}", retryable=not permanent) from exc
        except BotoCoreError as exc:
            raise DeliveryError(f"SNS unreachable: {exc}") from exc


def _https(url: str, allow_http: bool) -> str:
    if url.startswith("https://") or (allow_http and url.startswith("http://")):
        return url
    raise DeliveryError("the webhook URL must be https://", retryable=False)


class Sender:
    """Sends one notification to one integration; raises `DeliveryError`."""

    def __init__(
        self,
        *,
        http: HttpTransport | None = None,
        secrets: SecretsReader | None = None,
        sns: SnsTopics | None = None,
        allow_http: bool = False,
    ) -> None:
        self.http = http or HttpTransport()
        self.secrets = secrets or SecretsReader()
        self.sns = sns or SnsTopics()
        # Only the local runtime and tests post to http:// (a local receiver).
        self.allow_http = allow_http

    def __call__(self, integration: Any, notification: Notification) -> None:
        if isinstance(integration, SnsIntegration):
            subject, message = n.sns_message(notification, integration)
            self.sns.publish(integration.topic_arn, subject, message)
        elif isinstance(integration, SlackIntegration):
            url = _https(self.secrets.value(integration.webhook_url), self.allow_http)
            self._post(url, n.slack_body(notification, integration), {})
        elif isinstance(integration, MsTeamsIntegration):
            url = _https(self.secrets.value(integration.webhook_url), self.allow_http)
            self._post(url, n.teams_body(notification), {})
        elif isinstance(integration, WebhookIntegration):
            headers: dict[str, str] = {}
            if integration.authorization is not None:
                token = self.secrets.value(integration.authorization)
                headers["Authorization"] = f"Bearer {token}"
            body = _dumps(n.webhook_body(notification, integration.max_alerts))
            if integration.hmac_secret is not None:
                key = self.secrets.value(integration.hmac_secret).encode()
                digest = hmac.new(key, body, hashlib.sha256).hexdigest()
                headers["X-OMP-Signature"] = f"sha256={digest}"
            if integration.url_secret is not None:
                url = self.secrets.value(integration.url_secret)
            else:
                url = integration.url or ""
            self.http.post(_https(url, self.allow_http), body, headers)
        else:  # pragma: no cover - the config model admits no other type
            raise DeliveryError(f"unknown integration {integration!r}", retryable=False)

    def _post(self, url: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        self.http.post(url, _dumps(body), headers)


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), default=str).encode()
