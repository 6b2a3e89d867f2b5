"""The cloud deployment, generated from ``chalicelib.registry``: the merge template for
``chalice package``, the IAM policy per function, the per-function Chalice settings.

``make package STAGE=prod`` runs it all (``python -m infra.cloud.package``); see docs/deploy.md.
"""
