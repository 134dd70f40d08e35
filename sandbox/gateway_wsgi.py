"""WSGI entry point of the sandbox gateway's own origin (Procfile `gateway`, compose `gateway`).

The same project and settings as the shop, serving only sandbox.gateway_urls.
"""

import os

os.environ["DJANGO_ROOT_URLCONF"] = "sandbox.gateway_urls"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
