"""Image files in the media bucket. Keys start with the account id, like every tenant key."""

from __future__ import annotations

from chalicelib import aws, config


def image_key(account_id: str, site_id: str, content_id: str, image_id: str, extension: str = "png") -> str:
    return f"{account_id}/{site_id}/content/{content_id}/{image_id}.{extension}"


def store(key: str, data: bytes, mime: str) -> str:
    """Write (or overwrite with the same bytes: a retry is harmless) and return the key."""
    aws.client("s3").put_object(Bucket=config.bucket_name(), Key=key, Body=data, ContentType=mime,
                                ServerSideEncryption="AES256")
    return key


def read(key: str) -> tuple[bytes, str]:
    response = aws.client("s3").get_object(Bucket=config.bucket_name(), Key=key)
    return response["Body"].read(), response.get("ContentType", "application/octet-stream")


def presigned_url(key: str, expires_in: int = 3600) -> str:
    return aws.client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": config.bucket_name(), "Key": key}, ExpiresIn=expires_in)
