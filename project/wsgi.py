import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
application = get_wsgi_application()

# A broker URL listing several nodes: say which answer (ops.broker_nodes, in a thread).
from ops.broker_nodes import log_nodes_at_web_start  # noqa: E402 (needs Django set up)

log_nodes_at_web_start()
