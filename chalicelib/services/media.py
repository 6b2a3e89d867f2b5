"""Image files in the media bucket. Keys start with the account id, like every tenant key."""

from __future__ import annotations

from chalicelib import aws, config


def site_prefix(account_id: str, site_id: str) -> str:
    """Every file of a site is under this prefix (deleting the site deletes the prefix)."""
    return f"{account_id}/{site_id}/"


def content_prefix(account_id: str, site_id: str, content_id: str) -> str:
    return f"{site_prefix(account_id, site_id)}content/{content_id}/"


def image_key(account_id: str, site_id: str, content_id: str, image_id: str, extension: str = "png") -> str:
    return f"{content_prefix(account_id, site_id, content_id)}{image_id}.{extension}"


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


def delete_prefix(prefix: str) -> int:
    """Delete up to 1,000 files under ``prefix`` (one listing, one batch); returns how many.

    Call again until it returns 0. Deleting a file that is already gone is not an error, so
    a retried deletion is harmless.
    """
    s3 = aws.client("s3")
    listed = s3.list_objects_v2(Bucket=config.bucket_name(), Prefix=prefix, MaxKeys=1000)
    keys = [{"Key": item["Key"]} for item in listed.get("Contents", [])]
    if keys:
        answer = s3.delete_objects(Bucket=config.bucket_name(), Delete={"Objects": keys, "Quiet": True})
        if answer.get("Errors"):
            error = answer["Errors"][0]
            raise RuntimeError(f"S3 did not delete {len(answer['Errors'])} files, e.g. {error.get('Key')}: "
                               f"{error.get('Code')}")
    return len(keys)
