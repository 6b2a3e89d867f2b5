"""Chalice's own sam.json for a stage, made in-process and offline, then merged like
``chalice package --merge-template`` merges it.

``chalice package`` builds deployment.zip first (pip, PyPI); the template does not depend on
it (only ``CodeUri`` names it). This runs Chalice's very template code (application graph,
policy files, swagger, ``SAMTemplateGenerator``, ``TemplateDeepMerger``) with a stand-in
for the package step, so the tests check the merged template, resource names included,
in a second and without network. It never touches ``os.environ`` (``chalice package``
does): the app object is passed in.
"""

from __future__ import annotations

import json
from typing import Any

from infra.cloud.functions import CHALICE_DIR, ROOT, load_chalice_config


def chalice_template(stage: str, chalice_app: Any = None, region: str = "us-east-1") -> dict[str, Any]:
    import botocore.session
    from chalice.awsclient import TypedAWSClient
    from chalice.config import Config
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder
    from chalice.deploy.deployer import (
        BaseDeployStep,
        BuildStage,
        InjectDefaults,
        LambdaEventSourcePolicyInjector,
        PolicyGenerator,
        WebsocketPolicyInjector,
    )
    from chalice.deploy.swagger import CFNSwaggerGenerator
    from chalice.package import PackageOptions, SAMTemplateGenerator
    from chalice.policy import AppPolicyGenerator
    from chalice.utils import OSUtils

    if chalice_app is None:
        from app import app as chalice_app

    class NamedPackage(BaseDeployStep):
        """Stands in for the zip build: the template only needs the package's file name."""

        def handle_deploymentpackage(self, config: Any, resource: Any) -> None:
            if isinstance(resource.filename, models.Placeholder):
                resource.filename = str(ROOT / "build" / stage / "deployment.zip")

    config = Config(
        chalice_stage=stage,
        user_provided_params={"chalice_app": chalice_app, "project_dir": str(ROOT)},
        config_from_disk=load_chalice_config(CHALICE_DIR / "config.json"),
        default_params={"project_dir": str(ROOT), "api_gateway_stage": "api",
                        "api_gateway_endpoint_type": "EDGE", "autogen_policy": True},
    )
    osutils = OSUtils()
    application = ApplicationGraphBuilder().build(config, stage)
    dependencies = DependencyBuilder()
    resources = dependencies.build_dependencies(application)
    BuildStage(steps=[
        InjectDefaults(),
        NamedPackage(),
        PolicyGenerator(policy_gen=AppPolicyGenerator(osutils=osutils), osutils=osutils),
        _swagger_builder(CFNSwaggerGenerator()),
        LambdaEventSourcePolicyInjector(),
        WebsocketPolicyInjector(),
    ]).execute(config, resources)
    resources = dependencies.build_dependencies(application)
    session = botocore.session.get_session()
    session.set_config_variable("region", region)
    options = PackageOptions(TypedAWSClient(session))
    template = SAMTemplateGenerator(config, options).generate(resources)
    return json.loads(json.dumps(template))


def _swagger_builder(generator: Any) -> Any:
    from chalice.deploy.deployer import SwaggerBuilder

    return SwaggerBuilder(swagger_generator=generator)


def merge(merge_template: dict[str, Any], chalice: dict[str, Any]) -> dict[str, Any]:
    """Exactly what ``--merge-template`` does."""
    from chalice.package import TemplateDeepMerger

    return TemplateDeepMerger().merge(merge_template, chalice)


def merged_template(stage: str, chalice_app: Any = None) -> dict[str, Any]:
    from infra.cloud import template

    if chalice_app is None:
        from app import app as chalice_app
    ours = template.build(stage, registered=template.registered_functions(chalice_app))
    return merge(ours, chalice_template(stage, chalice_app))
