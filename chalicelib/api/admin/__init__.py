"""/v1/admin/...: the platform's own records, one module per resource. Platform staff only (auth="staff").

Records that exist at the platform's and at each account's scope (prompts, author profiles, AI
settings, module switches) have their staff routes next to their account routes instead:
chalicelib/api/{prompts,author_profiles,ai_settings,modules}.py.
"""
