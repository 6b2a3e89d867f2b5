"""moto's CloudFormation, completed where it falls short of what our template needs.

moto creates most of the stack itself (tables, queues, functions, event source mappings, roles,
log groups, the bucket, the key, the topic, schedules, the API and its deployment). For the rest,
``emulated_cloudformation()`` adds, for the duration of a ``with`` block, handlers that do what
CloudFormation's own resource handlers do: call the service's API (moto's, through boto3, so the
request is validated by botocore against the service model: a property the API does not know
fails the create instead of being dropped). Every one of them is named in the deploy check's
output (``SUPPLEMENTS``, ``COMPLETIONS``, ``ADAPTATIONS``), so nothing moto cannot do passes
unseen; any other type moto lacks is listed as not created.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# Types moto's CloudFormation cannot create -> what creates them here.
SUPPLEMENTS: dict[str, str] = {
    "AWS::CloudWatch::Alarm": "cloudwatch.put_metric_alarm with the resource's properties",
    "AWS::S3::BucketPolicy": "s3.put_bucket_policy",
    "AWS::ApiGateway::Stage": "apigateway.create_stage, then update_stage for MethodSettings (throttling)",
    "AWS::SNS::Subscription": "sns.subscribe",
    "AWS::CloudFront::OriginAccessControl": "cloudfront.create_origin_access_control",
    "AWS::CloudFront::Distribution": "cloudfront.create_distribution (CloudFormation's lists given as the API's "
                                     "Quantity/Items, CachedMethods inside AllowedMethods; moto keeps no "
                                     "FunctionAssociations)",
    "AWS::CloudFront::Function": "cloudfront.create_function (AutoPublish: moto's functions are usable as made)",
    "AWS::CloudFront::ResponseHeadersPolicy": "moto has no response headers policies: the properties are validated "
                                              "against botocore's model of cloudfront.create_response_headers_policy "
                                              "and kept for the check (not stored in moto)",
}
# Types moto creates but whose handler drops properties we rely on -> what applies them here.
COMPLETIONS: dict[str, str] = {
    "AWS::DynamoDB::Table": "TimeToLiveSpecification (dynamodb.update_time_to_live) and "
                            "PointInTimeRecoverySpecification (dynamodb.update_continuous_backups): moto's "
                            "handler ignores both",
    "AWS::S3::Bucket": "PublicAccessBlockConfiguration (s3.put_public_access_block), OwnershipControls "
                       "(s3.put_bucket_ownership_controls), LifecycleConfiguration "
                       "(s3.put_bucket_lifecycle_configuration), CorsConfiguration (s3.put_bucket_cors): moto's "
                       "handler ignores them",
    "AWS::ApiGateway::RestApi": "Body (the swagger document): every path and method through "
                                "apigateway.create_resource / put_method / put_integration; moto's handler "
                                "ignores the body and its importer takes OpenAPI 3 only",
}
# Rewrites of the template sent to moto, for moto's bugs (not ours).
ADAPTATIONS: dict[str, str] = {
    "AWS::DynamoDB::Table": "SSESpecification.SSEEnabled given as the API's Enabled (moto's handler passes "
                            "CloudFormation's property to the API model unchanged and reads Enabled)",
    "AWS::KMS::Key": "Tags given as TagKey/TagValue (moto's KMS handler reads CloudFormation's Key/Value tags "
                     "with the API's field names and fails) and KeyPolicy as a JSON string (CloudFormation takes an "
                     "object or a string; moto keeps the object and its policy check then fails)",
}


def adapt(template: dict[str, Any]) -> dict[str, Any]:
    """The template as sent to moto (``ADAPTATIONS``)."""
    out = copy.deepcopy(template)
    for resource in out["Resources"].values():
        sse = resource.get("Properties", {}).get("SSESpecification")
        if resource["Type"] == "AWS::DynamoDB::Table" and sse and "SSEEnabled" in sse:
            resource["Properties"]["SSESpecification"] = {"Enabled": sse["SSEEnabled"],
                                                          **{k: v for k, v in sse.items() if k != "SSEEnabled"}}
        if resource["Type"] == "AWS::KMS::Key" and "Tags" in resource.get("Properties", {}):
            resource["Properties"]["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]}
                                              for t in resource["Properties"]["Tags"]]
        if resource["Type"] == "AWS::KMS::Key" and isinstance(resource.get("Properties", {}).get("KeyPolicy"), dict):
            resource["Properties"]["KeyPolicy"] = {"Fn::ToJsonString": resource["Properties"]["KeyPolicy"]}
    return out


def _client(service: str, region: str) -> Any:
    import boto3

    return boto3.client(service, region_name=region)


class _Made:
    """What moto's stack keeps of a resource a supplement made."""

    def __init__(self, physical_id: str, attributes: dict[str, Any] | None = None) -> None:
        self.physical_resource_id = physical_id
        self._attributes = attributes or {}

    def is_created(self) -> bool:  # made synchronously, as the API call returned
        return True

    def get_cfn_attribute(self, name: str) -> Any:
        if name not in self._attributes:
            raise NotImplementedError(f"{{0}}: attribute {name} is not emulated")
        return self._attributes[name]


class _Supplement:
    """A handler of the shape moto's parser calls (classmethods of a CloudFormationModel)."""

    make: Callable[[str, dict[str, Any], str], _Made]

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                        account_id: str, region_name: str, **kwargs: Any) -> _Made:
        return cls.make(resource_name, cloudformation_json["Properties"], region_name)

    @classmethod
    def update_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("updates are not emulated")

    @classmethod
    def delete_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> None:
        return None


def _ref(value: Any) -> str:
    """moto resolves a Ref to a resource without ``physical_resource_id`` (an API deployment) to the
    resource itself: its id is what CloudFormation's Ref gives."""
    return value if isinstance(value, str) else str(value.id)


def _alarm(name: str, props: dict[str, Any], region: str) -> _Made:
    args = dict(props)
    args.setdefault("AlarmName", name)
    _client("cloudwatch", region).put_metric_alarm(**args)
    return _Made(args["AlarmName"], {"Arn": f"arn:aws:cloudwatch:{region}:123456789012:alarm:{args['AlarmName']}"})


def _bucket_policy(name: str, props: dict[str, Any], region: str) -> _Made:
    _client("s3", region).put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))
    return _Made(props["Bucket"])


_STAGE_SETTINGS = {"ThrottlingRateLimit": "throttling/rateLimit", "ThrottlingBurstLimit": "throttling/burstLimit",
                   "LoggingLevel": "logging/loglevel", "MetricsEnabled": "metrics/enabled",
                   "DataTraceEnabled": "logging/dataTrace", "CachingEnabled": "caching/enabled"}


def _stage(name: str, props: dict[str, Any], region: str) -> _Made:
    known = {"RestApiId", "StageName", "DeploymentId", "Description", "Variables", "TracingEnabled",
             "MethodSettings", "Tags"}
    unknown = set(props) - known
    if unknown:
        raise ValueError(f"AWS::ApiGateway::Stage: properties not emulated: {sorted(unknown)}")
    api = _client("apigateway", region)
    stage_name = props.get("StageName", name)
    api.create_stage(restApiId=_ref(props["RestApiId"]), stageName=stage_name, deploymentId=_ref(props["DeploymentId"]),
                     description=props.get("Description", ""), variables=props.get("Variables", {}),
                     tracingEnabled=bool(props.get("TracingEnabled", False)))
    operations = []
    for setting in props.get("MethodSettings", []):
        # CloudFormation's ResourcePath "/*" is the API's "*" (every resource); others are escaped paths.
        path = setting.get("ResourcePath", "/*")
        resource = "*" if path == "/*" else path.replace("/", "~1")
        prefix = f"/{resource}/{setting.get('HttpMethod', '*')}"
        for key, value in setting.items():
            if key in ("ResourcePath", "HttpMethod"):
                continue
            if key not in _STAGE_SETTINGS:
                raise ValueError(f"AWS::ApiGateway::Stage: method setting {key} not emulated")
            operations.append({"op": "replace", "path": f"{prefix}/{_STAGE_SETTINGS[key]}", "value": str(value)})
    if operations:
        api.update_stage(restApiId=_ref(props["RestApiId"]), stageName=stage_name, patchOperations=operations)
    return _Made(stage_name)


def _subscription(name: str, props: dict[str, Any], region: str) -> _Made:
    arn = _client("sns", region).subscribe(TopicArn=props["TopicArn"], Protocol=props["Protocol"],
                                           Endpoint=props["Endpoint"], ReturnSubscriptionArn=True)
    return _Made(arn["SubscriptionArn"])


def _origin_access_control(name: str, props: dict[str, Any], region: str) -> _Made:
    made = _client("cloudfront", region).create_origin_access_control(
        OriginAccessControlConfig=props["OriginAccessControlConfig"])["OriginAccessControl"]
    return _Made(made["Id"], {"Id": made["Id"]})


# What the stack's response headers policies hold (moto has no API for them): id -> the API's config.
RESPONSE_HEADERS_POLICIES: dict[str, dict[str, Any]] = {}


def _response_headers_policy(name: str, props: dict[str, Any], region: str) -> _Made:
    from botocore.validate import validate_parameters

    config = props["ResponseHeadersPolicyConfig"]  # CloudFormation's shape is the API's here
    model = _client("cloudfront", region).meta.service_model.operation_model("CreateResponseHeadersPolicy")
    validate_parameters({"ResponseHeadersPolicyConfig": config}, model.input_shape)  # raises on a wrong property
    policy_id = f"rhp-{len(RESPONSE_HEADERS_POLICIES) + 1}-{name}"
    RESPONSE_HEADERS_POLICIES[policy_id] = copy.deepcopy(config)
    return _Made(policy_id, {"Id": policy_id})


def _items(values: list[Any]) -> dict[str, Any]:
    return {"Quantity": len(values), "Items": values}


def _cloudfront_function(name: str, props: dict[str, Any], region: str) -> _Made:
    unknown = set(props) - {"Name", "AutoPublish", "FunctionConfig", "FunctionCode"}
    if unknown:
        raise ValueError(f"AWS::CloudFront::Function: properties not emulated: {sorted(unknown)}")
    made = _client("cloudfront", region).create_function(
        Name=props["Name"], FunctionConfig=props["FunctionConfig"], FunctionCode=props["FunctionCode"].encode())
    summary = made["FunctionSummary"]
    return _Made(summary["FunctionMetadata"]["FunctionARN"],
                 {"FunctionMetadata.FunctionARN": summary["FunctionMetadata"]["FunctionARN"]})


def _cache_behavior(cfn: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in cfn.items() if k not in ("AllowedMethods", "CachedMethods", "FunctionAssociations")}
    if "FunctionAssociations" in cfn:
        out["FunctionAssociations"] = _items(cfn["FunctionAssociations"])
    if "AllowedMethods" in cfn:
        out["AllowedMethods"] = {**_items(cfn["AllowedMethods"]),
                                 **({"CachedMethods": _items(cfn["CachedMethods"])} if "CachedMethods" in cfn else {})}
    return out


def _origin(cfn: dict[str, Any]) -> dict[str, Any]:
    out = dict(cfn)
    custom = cfn.get("CustomOriginConfig")
    if custom:
        out["CustomOriginConfig"] = {
            "HTTPPort": custom.get("HTTPPort", 80), "HTTPSPort": custom.get("HTTPSPort", 443),
            "OriginProtocolPolicy": custom["OriginProtocolPolicy"],
            **({"OriginSslProtocols": _items(custom["OriginSSLProtocols"])} if "OriginSSLProtocols" in custom else {})}
    return out


def distribution_config(cfn: dict[str, Any], caller_reference: str) -> dict[str, Any]:
    """CloudFormation's ``DistributionConfig`` as CloudFront's API takes it (the properties we use)."""
    known = {"Comment", "Enabled", "DefaultRootObject", "HttpVersion", "IPV6Enabled", "PriceClass", "Origins",
             "DefaultCacheBehavior", "CacheBehaviors"}
    unknown = set(cfn) - known
    if unknown:
        raise ValueError(f"AWS::CloudFront::Distribution: properties not emulated: {sorted(unknown)}")
    renamed = {"IPV6Enabled": "IsIPV6Enabled"}
    nested = ("Origins", "DefaultCacheBehavior", "CacheBehaviors")
    out = {renamed.get(k, k): v for k, v in cfn.items() if k not in nested}
    out["CallerReference"] = caller_reference
    out.setdefault("Comment", "")
    out["Origins"] = _items([_origin(o) for o in cfn["Origins"]])
    out["DefaultCacheBehavior"] = _cache_behavior(cfn["DefaultCacheBehavior"])
    if "CacheBehaviors" in cfn:
        out["CacheBehaviors"] = _items([_cache_behavior(b) for b in cfn["CacheBehaviors"]])
    return out


def _distribution(name: str, props: dict[str, Any], region: str) -> _Made:
    unknown = set(props) - {"DistributionConfig", "Tags"}
    if unknown:
        raise ValueError(f"AWS::CloudFront::Distribution: properties not emulated: {sorted(unknown)}")
    made = _client("cloudfront", region).create_distribution_with_tags(DistributionConfigWithTags={
        "DistributionConfig": distribution_config(props["DistributionConfig"], name),
        "Tags": {"Items": props.get("Tags", [])}})["Distribution"]
    return _Made(made["Id"], {"Id": made["Id"], "DomainName": made["DomainName"]})


def _supplement(make: Callable[[str, dict[str, Any], str], _Made]) -> type[_Supplement]:
    return type(f"Supplement_{make.__name__}", (_Supplement,), {"make": staticmethod(make)})


def _completed_table(moto_table: Any) -> Any:
    class Table(moto_table):  # type: ignore[misc, valid-type]
        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                            account_id: str, region_name: str, **kwargs: Any) -> Any:
            table = moto_table.create_from_cloudformation_json(resource_name, cloudformation_json, account_id,
                                                               region_name, **kwargs)
            props = cloudformation_json["Properties"]
            ddb = _client("dynamodb", region_name)
            if "TimeToLiveSpecification" in props:
                ddb.update_time_to_live(TableName=table.name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
            if "PointInTimeRecoverySpecification" in props:
                ddb.update_continuous_backups(
                    TableName=table.name, PointInTimeRecoverySpecification={
                        "PointInTimeRecoveryEnabled": props["PointInTimeRecoverySpecification"][
                            "PointInTimeRecoveryEnabled"]})
            return table

    return Table


def _completed_bucket(moto_bucket: Any) -> Any:
    class Bucket(moto_bucket):  # type: ignore[misc, valid-type]
        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                            account_id: str, region_name: str, **kwargs: Any) -> Any:
            bucket = moto_bucket.create_from_cloudformation_json(resource_name, cloudformation_json, account_id,
                                                                 region_name, **kwargs)
            props = cloudformation_json["Properties"]
            s3 = _client("s3", region_name)
            if "PublicAccessBlockConfiguration" in props:
                s3.put_public_access_block(Bucket=bucket.name,
                                           PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
            if "OwnershipControls" in props:
                s3.put_bucket_ownership_controls(Bucket=bucket.name, OwnershipControls=props["OwnershipControls"])
            if "LifecycleConfiguration" in props:
                rules = [{"ID": r["Id"], "Status": r["Status"], "Filter": {"Prefix": r.get("Prefix", "")},
                          "AbortIncompleteMultipartUpload": r["AbortIncompleteMultipartUpload"]}
                         for r in props["LifecycleConfiguration"]["Rules"]]
                s3.put_bucket_lifecycle_configuration(Bucket=bucket.name, LifecycleConfiguration={"Rules": rules})
            if "CorsConfiguration" in props:
                cors = [{"ID": r["Id"], "AllowedOrigins": r["AllowedOrigins"], "AllowedMethods": r["AllowedMethods"],
                         "AllowedHeaders": r.get("AllowedHeaders", []), "MaxAgeSeconds": r["MaxAge"]}
                        for r in props["CorsConfiguration"]["CorsRules"]]
                s3.put_bucket_cors(Bucket=bucket.name, CORSConfiguration={"CORSRules": cors})
            return bucket

    return Bucket


def _completed_rest_api(moto_api: Any) -> Any:
    class RestApi(moto_api):  # type: ignore[misc, valid-type]
        @classmethod
        def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: dict[str, Any],
                                            account_id: str, region_name: str, **kwargs: Any) -> Any:
            props = cloudformation_json["Properties"]
            body = props.get("Body") or {}
            if "Name" not in props and "title" in body.get("info", {}):
                props = {**props, "Name": body["info"]["title"]}
            rest_api = moto_api.create_from_cloudformation_json(
                resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name, **kwargs)
            _import_swagger(_client("apigateway", region_name), rest_api.id, body)
            return rest_api

    return RestApi


def _import_swagger(api: Any, rest_api_id: str, body: dict[str, Any]) -> None:
    ids = {"/": next(r["id"] for r in api.get_resources(restApiId=rest_api_id)["items"] if r["path"] == "/")}
    for path in sorted(body.get("paths", {})):
        parent = "/"
        for part in [p for p in path.split("/") if p]:
            current = f"{parent.rstrip('/')}/{part}"
            if current not in ids:
                ids[current] = api.create_resource(restApiId=rest_api_id, parentId=ids[parent], pathPart=part)["id"]
            parent = current
        for method, operation in body["paths"][path].items():
            if method.startswith("x-"):
                continue
            integration = operation.get("x-amazon-apigateway-integration", {})
            security = operation.get("security") or []
            api.put_method(restApiId=rest_api_id, resourceId=ids[parent], httpMethod=method.upper(),
                           authorizationType="CUSTOM" if security else "NONE")
            api.put_integration(restApiId=rest_api_id, resourceId=ids[parent], httpMethod=method.upper(),
                                type=integration.get("type", "mock").upper(), uri=integration.get("uri", ""),
                                integrationHttpMethod=integration.get("httpMethod", "POST").upper())


@contextmanager
def emulated_cloudformation() -> Iterator[None]:
    """moto's CloudFormation with ``SUPPLEMENTS`` and ``COMPLETIONS`` (only inside the block)."""
    from moto.cloudformation import parsing

    models = parsing.get_model_map()  # cached: the dict moto's parser reads
    saved = dict(models)
    try:
        models["AWS::CloudWatch::Alarm"] = _supplement(_alarm)
        models["AWS::S3::BucketPolicy"] = _supplement(_bucket_policy)
        models["AWS::ApiGateway::Stage"] = _supplement(_stage)
        models["AWS::SNS::Subscription"] = _supplement(_subscription)
        models["AWS::CloudFront::OriginAccessControl"] = _supplement(_origin_access_control)
        models["AWS::CloudFront::ResponseHeadersPolicy"] = _supplement(_response_headers_policy)
        models["AWS::CloudFront::Function"] = _supplement(_cloudfront_function)
        models["AWS::CloudFront::Distribution"] = _supplement(_distribution)
        RESPONSE_HEADERS_POLICIES.clear()
        models["AWS::DynamoDB::Table"] = _completed_table(saved["AWS::DynamoDB::Table"])
        models["AWS::S3::Bucket"] = _completed_bucket(saved["AWS::S3::Bucket"])
        models["AWS::ApiGateway::RestApi"] = _completed_rest_api(saved["AWS::ApiGateway::RestApi"])
        yield
    finally:
        models.clear()
        models.update(saved)


def moto_types() -> set[str]:
    """Resource types moto's own CloudFormation creates."""
    from moto.cloudformation import parsing

    return set(parsing.get_model_map())
