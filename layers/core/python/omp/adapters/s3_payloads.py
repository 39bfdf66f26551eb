"""Offloaded webhook bodies: read back from the ingest bucket by the alert consumer."""

from __future__ import annotations

from omp.adapters.aws import client, translate
from omp.domain.signals import UnparseablePayload


class S3PayloadAdapter:
    """`omp.services.pipeline.S3PayloadStore` on S3 (`GetObject`)."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket  # the catalog's bucket; an envelope names its own

    def get(self, bucket: str, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = client("s3").get_object(Bucket=bucket, Key=key)["Body"]
            return body.read()  # type: ignore[no-any-return]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "NoSuchBucket", "404"):
                raise UnparseablePayload(
                    f"the offloaded payload s3://{bucket}/{key} does not exist"
                ) from exc
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc
