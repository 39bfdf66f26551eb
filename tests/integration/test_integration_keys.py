"""Integration keys end to end under moto: create, authenticate with, list, revoke."""

import pytest

from tests.support import call_api, invoke

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/v1/ingest/alertmanager"


def _authorize(token):
    return invoke(
        "authorize",
        {
            "type": "REQUEST",
            "methodArn": METHOD_ARN,
            "headers": {"Authorization": f"Bearer {token}"},
        },
    )


def _create(**body):
    status, answer, _ = call_api("create-integration-key", body={"name": "prom", **body})
    assert status == 201, answer
    return answer["integration_key"]


def test_a_new_key_authenticates_with_its_roles_and_source_scope(dynamodb):
    key = _create(source="alertmanager")
    assert key["id"].startswith("ik_") and key["key"].startswith("omp_")
    assert key["hint"] == key["key"][-4:] and key["created_by"] == "tester"
    context = _authorize(key["key"])["context"]
    assert context == {
        "principal": "key:prom",
        "roles": "integration",
        "source": "alertmanager",
        "fingerprint_labels": "",
        "stage": "test",
    }


def test_the_token_is_never_listed_and_revoking_locks_it_out(dynamodb):
    first, second = _create(name="a"), _create(name="b", roles=["operator"], source="*")
    status, listed, _ = call_api("list-integration-keys")
    assert status == 200
    assert [k["id"] for k in listed["integration_keys"]] == [second["id"], first["id"]]
    assert all("key" not in k for k in listed["integration_keys"])
    status, revoked, _ = call_api("revoke-integration-key", path_params={"key_id": first["id"]})
    assert status == 200 and revoked["integration_key"]["revoked"] is True
    with pytest.raises(Exception, match="Unauthorized"):
        _authorize(first["key"])
    assert _authorize(second["key"])["context"]["roles"] == "operator"
    again = call_api("revoke-integration-key", path_params={"key_id": first["id"]})
    assert (
        again[0] == 200
        and again[1]["integration_key"]["revoked_at"] == revoked["integration_key"]["revoked_at"]
    )


def test_pages(dynamodb):
    for i in range(3):
        _create(name=f"k{i}")
    status, page, _ = call_api("list-integration-keys", query={"limit": "2"})
    assert status == 200 and len(page["integration_keys"]) == 2 and page["next_token"]
    status, rest, _ = call_api(
        "list-integration-keys", query={"limit": "2", "next_token": page["next_token"]}
    )
    assert status == 200 and len(rest["integration_keys"]) == 1 and rest["next_token"] is None


@pytest.mark.parametrize(
    ("name", "kwargs", "status", "code"),
    [
        (
            "create-integration-key",
            {"body": {"name": "x", "roles": ["admin"]}},
            422,
            "VALIDATION_FAILED",
        ),
        (
            "create-integration-key",
            {"body": {"name": "x", "source": "nagios"}},
            422,
            "VALIDATION_FAILED",
        ),
        ("create-integration-key", {"body": {"name": ""}}, 422, "VALIDATION_FAILED"),
        ("create-integration-key", {"body": {"name": "x"}, "roles": "operator"}, 403, "FORBIDDEN"),
        ("list-integration-keys", {"roles": "viewer"}, 403, "FORBIDDEN"),
        (
            "revoke-integration-key",
            {"path_params": {"key_id": "ik_01ARZ3NDEKTSV4RRFFQ69G5FAV"}},
            404,
            "KEY_NOT_FOUND",
        ),
        ("revoke-integration-key", {"path_params": {"key_id": "nope"}}, 404, "KEY_NOT_FOUND"),
        ("list-integration-keys", {"query": {"next_token": "garbage"}}, 400, "INVALID_NEXT_TOKEN"),
    ],
)
def test_bad_input(dynamodb, name, kwargs, status, code):
    got, body, _ = call_api(name, **kwargs)
    assert (got, body["error"]["code"]) == (status, code), body
