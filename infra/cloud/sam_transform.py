"""What CloudFormation is sent and what it makes of it, offline: sizes and resource counts
against CloudFormation's limits.

- ``packaged``: the template as ``aws cloudformation package`` rewrites it (each function's
  ``CodeUri`` becomes the ``s3://`` address of the uploaded deployment.zip),
- ``transform``: the ``AWS::Serverless-2016-10-31`` transform, run by aws-sam-translator (the
  library CloudFormation's SAM transform is built from): what CloudFormation creates,
- ``measure``: the uploaded template's size (YAML, as ``aws cloudformation package`` writes it)
  and the transformed template's resources, each against its limit.

A template over 51,200 bytes can only reach CloudFormation from S3 (``--s3-bucket``), where the
limit is 1 MB; a stack holds at most 500 resources. The build fails past ``BUDGET`` of either,
so the limit is met long before a deploy fails on it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass
from typing import Any

TEMPLATE_BODY_MAX_BYTES = 51_200  # inline (--template-body): why the deploy goes through S3
TEMPLATE_S3_MAX_BYTES = 1_000_000  # "1 MB" from S3, taken in decimal units to be safe
RESOURCES_MAX = 500
BUDGET = 0.8
SERVERLESS_TRANSFORM = "AWS::Serverless-2016-10-31"
# The longest address `aws cloudformation package` can write: s3://<63-character bucket>/<stage>/<md5>.
_LONGEST_BUCKET = "b" * 63


class TransformError(RuntimeError):
    pass


def code_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def packaged(template: dict[str, Any], uri: str) -> dict[str, Any]:
    """``template`` with every function's local ``CodeUri`` replaced by ``uri``."""
    out = copy.deepcopy(template)
    for resource in out.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = uri
    return out


def transform(template: dict[str, Any], region: str = "us-east-1",
              account_id: str = "123456789012") -> dict[str, Any]:
    """The plain CloudFormation template the SAM transform makes of a packaged template."""
    import boto3
    from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    if template.get("Transform") != SERVERLESS_TRANSFORM:
        return copy.deepcopy(template)
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())  # published nowhere, but published
    try:
        # No managed policy is referenced by name (every role is the template's own): an empty map
        # means one that is makes the transform fail instead of calling IAM.
        session = boto3.session.Session(region_name=region)  # read for the region only: no call is made
        return Translator({}, Parser(), boto_session=session, metrics=metrics).translate(
            copy.deepcopy(template), parameter_values={"AWS::Region": region, "AWS::AccountId": account_id},
            get_managed_policy_map=lambda: {})
    except InvalidDocumentException as exc:
        raise TransformError("the SAM transform refuses the template: "
                             + "; ".join(str(cause) for cause in exc.causes)) from exc
    finally:
        metrics.publish()


def uploaded_text(template: dict[str, Any]) -> str:
    """The packaged template as ``aws cloudformation package`` writes it by default (YAML, no aliases)."""
    import yaml

    class NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(template, Dumper=NoAliases, default_flow_style=False)


@dataclass(frozen=True)
class Measure:
    template_bytes: int  # the packaged template as uploaded
    transformed_bytes: int  # after the SAM transform (compact JSON)
    resources: int  # after the SAM transform: what the stack holds
    resource_types: dict[str, int]

    @property
    def template_share(self) -> float:
        return self.template_bytes / TEMPLATE_S3_MAX_BYTES

    @property
    def resource_share(self) -> float:
        return self.resources / RESOURCES_MAX

    def problems(self, budget: float = BUDGET) -> list[str]:
        out = []
        if self.template_share > budget:
            out.append(f"the template is {self.template_bytes:,} bytes, {self.template_share:.0%} of CloudFormation's "
                       f"{TEMPLATE_S3_MAX_BYTES:,}-byte limit (the build allows {budget:.0%})")
        if self.resource_share > budget:
            out.append(f"the stack would hold {self.resources} resources, {self.resource_share:.0%} of "
                       f"CloudFormation's {RESOURCES_MAX} (the build allows {budget:.0%})")
        return out

    def lines(self) -> list[str]:
        return [
            f"template: {self.template_bytes:,} bytes as uploaded (YAML) = {self.template_share:.1%} of the "
            f"{TEMPLATE_S3_MAX_BYTES:,}-byte limit from S3 (over {TEMPLATE_BODY_MAX_BYTES:,} bytes: the deploy "
            "must upload it to S3); build fails past " + f"{BUDGET:.0%}",
            f"resources after the SAM transform: {self.resources} = {self.resource_share:.1%} of the limit of "
            f"{RESOURCES_MAX}; build fails past {BUDGET:.0%} ({self.transformed_bytes:,} bytes transformed)",
        ]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure(template: dict[str, Any], stage: str = "prod") -> Measure:
    """``template``: the merged template (sam.json), with local ``CodeUri``s."""
    sent = packaged(template, code_uri(_LONGEST_BUCKET, f"{stage}/{'0' * 32}"))
    made = transform(sent)
    types: dict[str, int] = {}
    for resource in made["Resources"].values():
        types[resource["Type"]] = types.get(resource["Type"], 0) + 1
    return Measure(template_bytes=len(uploaded_text(sent).encode()),
                   transformed_bytes=len(json.dumps(made, separators=(",", ":")).encode()),
                   resources=len(made["Resources"]), resource_types=dict(sorted(types.items())))
