"""Policy statements several functions share, said once in the template as managed policies.

Each function's role lists exact ARNs (every table, index and queue it may touch), so the
statement naming the pipeline's tables is the same ~4-5 KB in every worker's role: inline, with
30 functions, the roles were 370 KB of a template CloudFormation takes up to 1 MB. A statement
of more than ``MIN_BYTES`` found in two roles or more moves into an ``AWS::IAM::ManagedPolicy``
(one per set of roles that share statements) that those roles attach. What each function may do
is unchanged: the same statements, reached through a reference instead of a copy.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any

MIN_BYTES = 300  # small statements (a log group, tracing) cost less inline than a reference
MAX_ATTACHED = 10  # IAM's default quota of managed policies per role


def _key(statement: dict[str, Any]) -> str:
    return json.dumps(statement, sort_keys=True)


def share(resources: dict[str, Any]) -> None:
    """Move the statements roles have in common into managed policies (``resources`` in place)."""
    roles = {name: res for name, res in resources.items()
             if "Policies" in res.get("Properties", {})}
    users: dict[str, set[str]] = defaultdict(set)
    statements: dict[str, dict[str, Any]] = {}
    for name, res in roles.items():
        for policy in res["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                key = _key(statement)
                if len(key) > MIN_BYTES:
                    users[key].add(name)
                    statements[key] = statement
    groups: dict[frozenset[str], list[str]] = defaultdict(list)
    for key, names in users.items():
        if len(names) > 1:
            groups[frozenset(names)].append(key)
    attached: dict[str, list[str]] = defaultdict(list)
    for names, keys in sorted(groups.items(), key=lambda g: sorted(g[0])):
        if any(len(attached[n]) >= MAX_ATTACHED for n in names):
            continue  # stays inline
        digest = hashlib.sha256("".join(sorted(keys)).encode()).hexdigest()[:10]
        policy_name = f"SharedStatements{digest}"
        resources[policy_name] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "Description": f"Statements shared by {len(names)} functions' roles",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [statements[k] for k in sorted(keys)]}}}
        moved = set(keys)
        for name in names:
            attached[name].append(policy_name)
            for policy in roles[name]["Properties"]["Policies"]:
                policy["PolicyDocument"]["Statement"] = [
                    s for s in policy["PolicyDocument"]["Statement"] if _key(s) not in moved]
    for name, policy_names in attached.items():
        properties = roles[name]["Properties"]
        properties["ManagedPolicyArns"] = [*properties.get("ManagedPolicyArns", []),
                                           *({"Ref": p} for p in policy_names)]
