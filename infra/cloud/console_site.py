"""The web console in the cloud: its built files in S3 behind CloudFront, with ``/v1/*`` routed to
API Gateway, so the browser sees one origin (the refresh cookie, ``SameSite=Strict`` and
``Path=/v1/auth``, and relative ``/v1`` calls need no CORS), as ``infra.local.console`` does locally.

- ``ConsoleBucket``: private (public access blocked, owner-enforced), encrypted, TLS only;
  readable by this stack's distribution alone (origin access control, the bucket policy's
  ``AWS:SourceArn``). Its files are what ``web/dist`` holds; ``make deploy`` uploads them
  (``infra.cloud.deploy``). Kept when the stack is deleted (CloudFormation cannot delete a
  bucket with files in it) and named by CloudFormation, so no kept bucket's name blocks a
  new stack.
- ``ConsoleDistribution``: the files by default (compressed, cached by their own
  ``Cache-Control``: a year for hashed assets, revalidated for ``index.html``), and ``/v1/*``
  to the API's stage, uncached, every method, every viewer header but ``Host`` (API Gateway
  answers only to its own host name), cookies and query strings passed on.
- ``ConsoleAddresses``: a CloudFront Function on the viewer's request: an address of the app
  (no file extension: ``/accept-invite?token=…``, the pages e-mailed links open) is answered
  with ``index.html`` (the app then moves to its hash address); a missing asset stays a miss,
  as locally.
- ``ConsoleHeadersPolicy``: the console's headers, the same as locally
  (``infra.console_headers``): its Content-Security-Policy (API calls to its own origin and the
  media bucket), ``nosniff``, ``Referrer-Policy``, no framing, and HSTS.

The media bucket answers the console's scripts with CORS (an image file route redirects to a
presigned link there): ``media_cors`` (``infra.cloud.template`` adds it to the bucket).
"""

from __future__ import annotations

from typing import Any

from infra.console_headers import STATIC_HEADERS, content_security_policy

BUCKET = "ConsoleBucket"
BUCKET_POLICY = "ConsoleBucketPolicy"
ORIGIN_ACCESS = "ConsoleOriginAccessControl"
HEADERS_POLICY = "ConsoleHeadersPolicy"
DISTRIBUTION = "ConsoleDistribution"
ADDRESSES_FUNCTION = "ConsoleAddresses"
FILES_ORIGIN = "console-files"
API_ORIGIN = "api"
API_PATH = "/v1/*"
# CloudFront's managed policies (the same ids in every account):
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # honours the origin's Cache-Control; gzip + brotli
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # for API Gateway and function URL origins
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
HSTS_SECONDS = 2 * 365 * 24 * 3600
# An address of the app (no extension in its last segment) -> the app's page; files pass as they are.
# CloudFront Functions' runtime (cloudfront-js-2.0): plain ES5 is safe.
ADDRESSES_CODE = """function handler(event) {
  var request = event.request;
  var uri = request.uri;
  var last = uri.substring(uri.lastIndexOf('/') + 1);
  if (uri !== '/' && last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}
"""
# A presigned link names the bucket on S3's global or regional host, depending on the region.
MEDIA_HOSTS = ("https://{bucket}.s3.amazonaws.com", "https://{bucket}.s3.${{AWS::Region}}.amazonaws.com")


def media_cors() -> dict[str, Any]:
    """The media bucket's CORS rule: reads by the console's scripts.

    Any CloudFront site's origin rather than this distribution's own: the distribution depends on
    the API, whose functions depend on the media bucket, so the bucket cannot name the
    distribution's domain (a dependency cycle). What it allows is reading an object through a
    presigned link, which is itself the permission: whoever holds the link can show the image in
    an ``<img>`` anyway; CORS only lets a script read the bytes."""
    return {"CorsRules": [{"Id": "console-reads-media", "AllowedOrigins": ["https://*.cloudfront.net"],
                           "AllowedMethods": ["GET", "HEAD"], "AllowedHeaders": ["*"], "MaxAge": 3600}]}


def _security_headers(csp: dict[str, Any]) -> dict[str, Any]:
    return {
        "ContentSecurityPolicy": {"ContentSecurityPolicy": csp, "Override": True},
        "ContentTypeOptions": {"Override": True},  # X-Content-Type-Options: nosniff
        "ReferrerPolicy": {"ReferrerPolicy": STATIC_HEADERS["Referrer-Policy"], "Override": True},
        "FrameOptions": {"FrameOption": STATIC_HEADERS["X-Frame-Options"], "Override": True},
        "StrictTransportSecurity": {"AccessControlMaxAgeSec": HSTS_SECONDS, "IncludeSubdomains": False,
                                    "Override": True},
    }


def resources(*, prefix: str, media_bucket: str, api_stage: str, tags: list[dict[str, str]]) -> dict[str, Any]:
    """The console's resources. ``media_bucket``: the media bucket's name as an ``Fn::Sub`` string
    (not a Ref: see ``media_cors``); ``api_stage``: the API Gateway stage the API's paths live under."""
    bucket = media_bucket
    csp = content_security_policy(*(host.format(bucket=bucket) for host in MEDIA_HOSTS))
    return {
        BUCKET: {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "RetainExceptOnCreate",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                                   "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
                "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]},
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "Tags": tags,
            },
        },
        BUCKET_POLICY: {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": BUCKET},
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "CloudFrontReadsTheConsole", "Effect": "Allow",
                     "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                     "Resource": {"Fn::Sub": f"${{{BUCKET}.Arn}}/*"},
                     "Condition": {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": (
                         "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/"
                         f"${{{DISTRIBUTION}}}")}}}},
                    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                     "Resource": [{"Fn::GetAtt": [BUCKET, "Arn"]}, {"Fn::Sub": f"${{{BUCKET}.Arn}}/*"}],
                     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
                ]},
            },
        },
        ORIGIN_ACCESS: {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {"OriginAccessControlConfig": {
                # Names are unique in the account (CloudFront is global): the stage and region make it so.
                "Name": {"Fn::Sub": f"{prefix}-console-${{AWS::Region}}"},
                "Description": f"{prefix}: CloudFront reads the console's files",
                "OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4"}},
        },
        HEADERS_POLICY: {
            "Type": "AWS::CloudFront::ResponseHeadersPolicy",
            "Properties": {"ResponseHeadersPolicyConfig": {
                "Name": {"Fn::Sub": f"{prefix}-console-${{AWS::Region}}"},
                "Comment": "the web console's headers (infra/console_headers.py)",
                "SecurityHeadersConfig": _security_headers({"Fn::Sub": csp}),
            }},
        },
        ADDRESSES_FUNCTION: {
            "Type": "AWS::CloudFront::Function",
            "Properties": {
                "Name": {"Fn::Sub": f"{prefix}-console-addresses-${{AWS::Region}}"},
                "AutoPublish": True,
                "FunctionConfig": {"Comment": "an address of the web console is its index.html",
                                   "Runtime": "cloudfront-js-2.0"},
                "FunctionCode": ADDRESSES_CODE,
            },
        },
        DISTRIBUTION: {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {
                "DistributionConfig": {
                    "Comment": f"{prefix}: the web console, /v1/* to the API",
                    "Enabled": True,
                    "DefaultRootObject": "index.html",
                    "HttpVersion": "http2and3",
                    "IPV6Enabled": True,
                    "PriceClass": "PriceClass_100",
                    "Origins": [
                        {"Id": FILES_ORIGIN, "DomainName": {"Fn::GetAtt": [BUCKET, "RegionalDomainName"]},
                         "S3OriginConfig": {"OriginAccessIdentity": ""},
                         "OriginAccessControlId": {"Fn::GetAtt": [ORIGIN_ACCESS, "Id"]}},
                        {"Id": API_ORIGIN,
                         "DomainName": {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"},
                         "OriginPath": f"/{api_stage}",
                         "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "HTTPSPort": 443,
                                                "OriginSSLProtocols": ["TLSv1.2"]}},
                    ],
                    "DefaultCacheBehavior": {
                        "TargetOriginId": FILES_ORIGIN, "ViewerProtocolPolicy": "redirect-to-https",
                        "AllowedMethods": ["GET", "HEAD"], "CachedMethods": ["GET", "HEAD"], "Compress": True,
                        "CachePolicyId": CACHING_OPTIMIZED, "ResponseHeadersPolicyId": {"Ref": HEADERS_POLICY},
                        "FunctionAssociations": [{
                            "EventType": "viewer-request",
                            "FunctionARN": {"Fn::GetAtt": [ADDRESSES_FUNCTION, "FunctionMetadata.FunctionARN"]}}],
                    },
                    "CacheBehaviors": [{
                        "PathPattern": API_PATH, "TargetOriginId": API_ORIGIN, "ViewerProtocolPolicy": "https-only",
                        "AllowedMethods": ALL_METHODS, "CachedMethods": ["GET", "HEAD"], "Compress": True,
                        "CachePolicyId": CACHING_DISABLED, "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST,
                    }],
                },
                "Tags": tags,
            },
        },
    }


def outputs() -> dict[str, Any]:
    return {
        "ConsoleURL": {"Description": "the web console (and the API under /v1 on the same origin)",
                       "Value": {"Fn::Sub": f"https://${{{DISTRIBUTION}.DomainName}}/"}},
        "ConsoleBucketName": {"Description": "where make deploy uploads web/dist", "Value": {"Ref": BUCKET}},
        "ConsoleDistributionId": {"Value": {"Ref": DISTRIBUTION}},
    }
