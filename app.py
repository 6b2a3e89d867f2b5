"""The Chalice app: registration only. The domain lives in chalicelib/services."""

from chalice import Chalice

from chalicelib.api import auth, industries, meta, sites, users
from chalicelib.api.middleware import request_context

app = Chalice(app_name="seo-content-engine")
app.register_middleware(request_context, "http")

for blueprint_module in (meta, auth, users, sites, industries):
    app.register_blueprint(blueprint_module.bp)
