"""Orderly settings: every deployment value is read here, from the environment.

The defaults run locally with no setup beyond a Redis server: SQLite under
var/, e-mail written to files under var/mail, invoices under var/media.
`.env.example` documents each variable.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from jobs.rabbitmq import TOPIC_EXCHANGE, broker_nodes, is_amqp, task_queues

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A developer's .env is read unless told not to (the tests do, so a local
# EMAIL_URL or DATABASE_URL cannot leak into them). Real environment wins.
# (Only if there is one: without, django-environ logs a warning in every process.)
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=True) and (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# Off unless asked for: a deploy that forgets this variable must not run
# with debug pages, the development secret key and the sandbox mounted.
# `make dev`, docker-compose.yml and the tests set DJANGO_DEBUG=true.
DEBUG = env.bool("DJANGO_DEBUG", default=False)

# --- Security and production (DJANGO_DEBUG=false) -------------------------------
# A production start-up without these stops here, naming every missing one at
# once (not one per restart). `manage.py check --deploy` passes with them set.
PRODUCTION_REQUIRED_VARIABLES = ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL")
# The key .env.example (and so `make dev`'s .env) carries; never a production key.
DEVELOPMENT_SECRET_KEY = "dev-only-insecure-key-change-me"  # noqa: S105 (public on purpose)
if not DEBUG:
    _missing = [name for name in PRODUCTION_REQUIRED_VARIABLES if not env.str(name, default="")]
    if env.str("DJANGO_SECRET_KEY", default="") == DEVELOPMENT_SECRET_KEY:
        _missing.insert(0, "DJANGO_SECRET_KEY (it is the development key from .env.example)")
    if _missing:
        raise ImproperlyConfigured(
            "DJANGO_DEBUG is off (production) but these required environment variables "
            f"are not set: {', '.join(_missing)}. See .env.example."
        )
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY",
    default=DEVELOPMENT_SECRET_KEY if DEBUG else environ.Env.NOTSET,
)
# Previous keys, still accepted while values signed or sealed with them are alive:
# sessions, password-reset links, signed cookies (Django) and sealed dead-letter
# arguments (jobs.redaction). docs/security.md, "Rotating the secret key".
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# HTTPS only in production; plain HTTP stays usable in development.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes call these over plain HTTP from inside the host or cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
# Only behind a TLS-terminating proxy that sets X-Forwarded-Proto and strips
# it from client requests; otherwise a client could claim HTTPS.
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# --- end security and production -------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "django_celery_results",
    "jobs",
    "accounts",
    "inventory",
    "orders",
    "notifications",
    "reports",
    "storefront",
    "sandbox",
    "ops",
    "console",
    "ninja",  # django-ninja: its bundled Swagger UI (no CDN)
    "api",
    "axes",
    "csp",  # django-csp's system checks
]

MIDDLEWARE = [
    # First, so it times every request whole: latency and status per view (ops.web_metrics).
    "ops.web_metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response (below).
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before sessions: a cookie holding a control character is ignored (issue 12).
    "safetext.middleware.DropCookiesWithControlCharactersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Query strings with control characters get a 400 here (issue 12).
    "safetext.middleware.RefuseControlCharactersInQueryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a lock-out into a clear response.
    "axes.middleware.AxesMiddleware",
]

# --- Login rate limit (django-axes) ----------------------------------------------
# After AXES_FAILURE_LIMIT failed logins for one username from one IP address,
# that pair is locked out for AXES_COOLOFF_MINUTES, right password or not
# (admin and shop login alike). Keyed on the pair so nobody can lock a user
# out from elsewhere. Unlock early: `manage.py axes_reset_username <name>`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# django-axes otherwise logs its configuration ("AXES: BEGIN ...") from every process.
AXES_VERBOSE = False
# --- end login rate limit ---------------------------------------------------------

# The sandbox gateway's own origin (Procfile `gateway`, sandbox/gateway_wsgi.py)
# serves sandbox.gateway_urls: the gateway API and nothing of the shop.
ROOT_URLCONF = env.str("DJANGO_ROOT_URLCONF", default="project.urls")
WSGI_APPLICATION = "project.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:orders"
LOGOUT_REDIRECT_URL = "inventory:catalog"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orders.context_processors.cart",
                "orders.context_processors.shop",
                "orders.context_processors.payment_gateway",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# SQLite by default; DATABASE_URL (postgres://...) switches to PostgreSQL.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'orderly.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)  # a fresh clone has no var/ yet
    # Web, workers and beat write to the same file: wait for the lock instead
    # of failing with "database is locked", and take it at BEGIN.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
    # Tests that run a worker process need the test database in a file the
    # worker can open too (an in-memory database is private to one process).
    DATABASES["default"]["TEST"] = {
        "NAME": env.str("SQLITE_TEST_NAME", default=str(VAR_DIR / "test-orderly.sqlite3"))
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A gevent worker runs each task in a greenlet of its own, and a greenlet
    # has its own connection: opened for the task and closed after it
    # (jobs.db_connections), a new PostgreSQL backend per task. At 20 orders/s
    # that churn cost more CPU than it left for the work. There, the greenlets
    # share a pool (Django's psycopg_pool support): a task borrows a
    # connection and gives it back when it ends. DATABASE_POOL_SIZE > 0 gives
    # any process a pool (the bench's 96-thread gateway stand-in uses one).
    _monkey = sys.modules.get("gevent.monkey")
    _green = bool(_monkey and _monkey.is_module_patched("socket"))
    DATABASE_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=32 if _green else 0)
    if DATABASE_POOL_SIZE:
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps them; Django requires 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2,
            "max_size": DATABASE_POOL_SIZE,
            "timeout": 10,  # waiting longer for a connection: OperationalError, retried
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and uploads -------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "media/"

# Invoices go to local files by default, to S3 (or MinIO) when a bucket is set.
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "default_acl": None,
            "querystring_auth": True,
            # Signed links (invoice downloads) carry X-Amz-Expires; AWS needs v4.
            "signature_version": "s3v4",
            "file_overwrite": True,
        },
    }
else:
    # Invoice keys are deterministic: a second render overwrites, never piles up.
    DEFAULT_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"allow_overwrite": True},
    }
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- E-mail -------------------------------------------------------------------
# EMAIL_URL: smtp://user:pass@host:port, or unset for files under var/mail.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Orderly <shop@orderly.example>")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str(
        "EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend"
    )
    EMAIL_FILE_PATH = env.path("EMAIL_FILE_PATH", default=VAR_DIR / "mail")
EMAIL_TIMEOUT = 10

# --- Celery -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://localhost:6379/0")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)

# --- Timers, and the order they must keep ---------------------------------------
# A worker that dies (a pool child or the main process) leaves its message
# unacknowledged; Redis delivers it again after the visibility timeout
# (RabbitMQ as soon as the connection drops). Recovery therefore takes about
# one visibility timeout, and these timers must keep this order:
#
#   every task's hard time limit      <  visibility timeout   (else it runs twice)
#   retry countdown cap (and ETAs)    <  visibility timeout   (else it runs twice)
#   a charge's whole retry span
#     + visibility timeout            <  abandoned-order delay (give up only after)
#   charge task's hard time limit     <  charge in-flight window
#   gateway connect + read timeouts   <  charge task's soft time limit
#                                        (a slow gateway is a retry, not a stop)
#
# jobs.checks and orders.checks refuse a configuration that breaks it
# (`manage.py check`, every web and worker start). Waits longer than the
# visibility timeout live in the database (webhook retries, abandoned orders).
# ORDERLY_TIMER_SCALE multiplies all of these at once, the task time limits
# included, so the order holds at any scale: the chaos tests run at 1/10. The
# gateway's timeouts are the exception: how long a gateway takes to answer is
# not ours to scale, so a scaled run sets them itself (the check still applies).
ORDERLY_TIMER_SCALE = env.float("ORDERLY_TIMER_SCALE", default=1.0)


def _scaled(seconds: float) -> float:
    return seconds * ORDERLY_TIMER_SCALE


CELERY_VISIBILITY_TIMEOUT = _scaled(env.int("CELERY_VISIBILITY_TIMEOUT", default=300))
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    # How often workers look for messages a dead worker left unacknowledged
    # (and older than the visibility timeout) to deliver them again. Kombu's
    # default sweeps only every 10th interval; throttle 1 makes it every one.
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": 1,
    # The sweep takes a lock in Redis; kombu keeps it 300 s, so a worker killed
    # mid-sweep stopped every restore for 5 minutes. A sweep moves at most 10
    # messages: 10 s is ample.
    "unacked_mutex_expire": 10,
    "socket_connect_timeout": 3,
    "socket_timeout": 5,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# Publishing happens after commit; a broker that is down must not hang the
# request. The outbox relay publishes whatever could not be sent.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = None  # purged by our own periodic job, not celery.backend_cleanup
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
# Keep workers' database connections between tasks (Celery's Django fixup
# would close them after every task); jobs.db_connections applies
# DATABASE_CONN_MAX_AGE and the health checks instead, as Django does per request.
CELERY_DB_REUSE_MAX = 1_000_000_000
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = _scaled(env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60))
CELERY_TASK_TIME_LIMIT = _scaled(env.int("CELERY_TASK_TIME_LIMIT", default=90))
# Each task's own limits (its decorator) are multiplied by ORDERLY_TIMER_SCALE
# (CELERY_TASK_ANNOTATIONS, below).
# A deploy stops workers with SIGTERM; `make dev` (scripts/supervise.py) and
# compose set REMAP_SIGTERM=SIGQUIT, so SIGTERM starts Celery's soft shutdown:
# running tasks get this long to finish, then those still running are given
# back to the broker at once instead of after the visibility timeout (or of
# being SIGKILLed by a stop timeout). Not scaled: it races nothing above.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=20.0)
# Not on idle: an idle worker's unacknowledged messages (retries waiting for
# their countdown) go back to Redis when its channel closes anyway (kombu's
# restore at shutdown; RabbitMQ on disconnect), so waiting would only slow a deploy.
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = False
# No STARTED row: nothing reads one (tests/jobs/test_task_results.py lists what
# reads results), and it is a second write per task that stores its result.
CELERY_TASK_TRACK_STARTED = False
# Flower (and the console's Flower links) show tasks from the workers' events
# (received, started, succeeded, failed, retried). No task-sent event: nothing
# reads it (ops.task_metrics counts publishes from before_task_publish), and
# it was a second message on every publish (0.71 -> 0.47 ms of CPU per publish).
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_TASK_ALWAYS_EAGER = False
# django-celery-beat's DatabaseScheduler under a lease: only one beat sends (jobs.beat).
CELERY_BEAT_SCHEDULER = "jobs.beat:LeasedDatabaseScheduler"
# Write each schedule's last run at once, so a beat taking over knows it.
CELERY_BEAT_SYNC_EVERY = 1
# A dead beat's lease expires after this; a standby takes over at its next tick
# (within a third of it). Below 45 s: takeover within a minute (jobs.checks).
ORDERLY_BEAT_LEASE_SECONDS = _scaled(env.float("ORDERLY_BEAT_LEASE_SECONDS", default=30.0))

# Queues and routes are declared here, once. One worker pool consumes each
# queue, so a flood of e-mails never delays a payment.
CELERY_TASK_DEFAULT_QUEUE = "default"
ORDERLY_QUEUES = ("default", "payments", "emails", "reports", "webhooks")
CELERY_TASK_QUEUES = tuple(Queue(name, routing_key=name) for name in ORDERLY_QUEUES)
CELERY_TASK_ROUTES = {
    "orders.charge_payment": {"queue": "payments"},
    "notifications.send_*": {"queue": "emails"},
    "notifications.dispatch_webhooks": {"queue": "webhooks"},
    "notifications.deliver_webhook": {"queue": "webhooks"},
    "notifications.dispatch_due_webhooks": {"queue": "webhooks"},
    "reports.*": {"queue": "reports"},
}

# --- RabbitMQ: queue type, exchanges, publisher confirms (docs/scaling-out.md) ---
# Only for an amqp:// broker; a Redis broker keeps the declarations above.
# classic (the default: faster on one node, see bench/rabbitmq_queue_types.py):
# queues on one node, on direct exchanges. quorum: queues replicated on a
# cluster (Raft, a majority must answer), all bound to the topic exchange
# "orderly", so Celery's native delayed delivery carries countdown retries
# (on a direct exchange the worker would hold them, and quorum queues have
# no global QoS to make room for them). jobs.checks refuses a quorum queue on
# a direct exchange. Changing the type of an existing vhost's queues needs
# them drained and deleted first (RabbitMQ refuses to redeclare a queue).
# A cluster's nodes go in the broker URL, `amqp://...:5672//;amqp://...//`:
# kombu fails over in that order, and /readyz checks each node.
ORDERLY_RABBITMQ_QUEUE_TYPE = env.str("ORDERLY_RABBITMQ_QUEUE_TYPE", default="classic")
# How long a publish waits for RabbitMQ's confirm before it counts as failed
# (a queue without a majority, or one whose leader died mid-publish, may never
# send it; py-amqp would wait forever). A failed outbox publish stays unsent
# for the relay; every other publish retries on a fresh connection.
# Not scaled by ORDERLY_TIMER_SCALE: it races with no other timer.
ORDERLY_PUBLISH_CONFIRM_TIMEOUT_SECONDS = env.float(
    "ORDERLY_PUBLISH_CONFIRM_TIMEOUT_SECONDS", default=5.0
)
if is_amqp(CELERY_BROKER_URL):
    CELERY_TASK_QUEUES = task_queues(ORDERLY_QUEUES, ORDERLY_RABBITMQ_QUEUE_TYPE)
    # A publish returns once the broker has the message (on a quorum queue:
    # once a majority of its nodes do), so the outbox marks sent only what is kept.
    CELERY_BROKER_TRANSPORT_OPTIONS["confirm_publish"] = True
    if ORDERLY_RABBITMQ_QUEUE_TYPE == "quorum":
        CELERY_TASK_DEFAULT_EXCHANGE = TOPIC_EXCHANGE
        CELERY_TASK_DEFAULT_EXCHANGE_TYPE = "topic"
        CELERY_TASK_DEFAULT_QUEUE_TYPE = "quorum"
        CELERY_TASK_CREATE_MISSING_QUEUE_TYPE = "quorum"
        # Per-consumer prefetch (quorum queues refuse global QoS) and the
        # native delayed delivery bootstep, both turned on by this detection.
        CELERY_WORKER_DETECT_QUORUM_QUEUES = True
        CELERY_BROKER_NATIVE_DELAYED_DELIVERY_QUEUE_TYPE = "quorum"
        # Declares the delay queues once per cluster, on a node that answers
        # (Celery's own step retried each dead node of the URL for ~17 s).
        CELERY_WORKER_CONSUMER = "jobs.delayed_delivery:Consumer"
# --- end RabbitMQ -----------------------------------------------------------------

# Locks for periodic jobs that must not overlap (jobs.locks). The tests point
# this at their own Redis database.
ORDERLY_LOCK_REDIS_URL = env.str("ORDERLY_LOCK_REDIS_URL", default=REDIS_URL)

# --- Redis Sentinel (begin) ---------------------------------------------------------
# REDIS_SENTINELS (host:port of each Sentinel, comma-separated) and REDIS_SENTINEL_MASTER
# (the name they monitor): every Redis client of Orderly then finds the master through
# them and follows a failover. The broker uses kombu's sentinel transport (CELERY_BROKER_URL
# becomes sentinel://node;sentinel://node..., unless it is already that or amqp://); the job
# locks, the beat lease, the delivery counters and the metrics' marks use redis-py's
# Sentinel.master_for (jobs.redis_clients). REDIS_URL and ORDERLY_LOCK_REDIS_URL then name
# only the database and password: their host and port are not used. A sentinel:// broker URL
# alone says the same (its nodes become REDIS_SENTINELS). Results live in the database
# (django-db), never in Redis. jobs.checks refuses a half-configured Sentinel at start-up.
REDIS_SENTINELS = env.list("REDIS_SENTINELS", default=[])
REDIS_SENTINEL_MASTER = env.str("REDIS_SENTINEL_MASTER", default="")
if not REDIS_SENTINELS and CELERY_BROKER_URL.startswith("sentinel://"):
    REDIS_SENTINELS = [
        part.split("://", 1)[1].rsplit("@", 1)[-1].split("/", 1)[0]
        for part in broker_nodes(CELERY_BROKER_URL)
    ]
if REDIS_SENTINELS:
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) and (
        "CELERY_BROKER_URL" not in os.environ  # Celery reads that variable itself
    ):
        _broker = urlsplit(CELERY_BROKER_URL)
        _auth = _broker.netloc.rsplit("@", 1)[0] + "@" if "@" in _broker.netloc else ""
        CELERY_BROKER_URL = ";".join(
            f"sentinel://{_auth}{node}{_broker.path or '/0'}" for node in REDIS_SENTINELS
        )
    # Sentinel nodes answer at once or not at all: a node that is down must not hold up
    # finding the master (celery#9901 set these; redis-py's default waits for ever).
    _sentinel_options = {
        "master_name": REDIS_SENTINEL_MASTER,
        "sentinel_kwargs": {"socket_timeout": 2, "socket_connect_timeout": 2},
    }
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        _sentinel_options,
        # A master that stops answering without closing connections (a host or network
        # lost, celery#6348): keepalive, and kombu's check that drops a BRPOP connection
        # whose reply is overdue after brpop_timeout + health_check_interval.
        socket_keepalive=True,
        health_check_interval=10,
    )
    # Read by a Redis result backend (not CELERY_RESULT_TRANSPORT_OPTIONS, celery#9901).
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS.update(_sentinel_options)
# --- Redis Sentinel (end) -----------------------------------------------------------

# Shared retry policy for temporary failures (jobs.base.OrderlyTask):
# exponential backoff with full jitter, capped.
ORDERLY_RETRY_BACKOFF_SECONDS = env.float("ORDERLY_RETRY_BACKOFF_SECONDS", default=2.0)
ORDERLY_RETRY_BACKOFF_MAX_SECONDS = _scaled(
    env.float("ORDERLY_RETRY_BACKOFF_MAX_SECONDS", default=120)
)
ORDERLY_RETRY_MAX_RETRIES = env.int("ORDERLY_RETRY_MAX_RETRIES", default=6)
# A message whose task killed its worker process this many times (a crash,
# os._exit, the OOM killer) is dead-lettered instead of delivered again.
ORDERLY_MAX_DELIVERIES = env.int("ORDERLY_MAX_DELIVERIES", default=3)
# Argument keys (substrings, case-insensitive) whose values dead letters hide.
ORDERLY_REDACT_KEYS = env.list(
    "ORDERLY_REDACT_KEYS",
    default=["card", "token", "secret", "password", "authorization", "api_key", "cvc"],
)
FLOWER_URL = env.str("FLOWER_URL", default="http://127.0.0.1:5555")
# Default pace of "Requeue all matching this filter" (the operator can change it).
ORDERLY_BULK_REQUEUE_RATE_PER_SECOND = env.float(
    "ORDERLY_BULK_REQUEUE_RATE_PER_SECOND", default=5.0
)

# --- Health and metrics (ops app) -------------------------------------------------
# /readyz waits this many seconds for the broker and for workers' replies.
ORDERLY_READINESS_TIMEOUT = env.float("ORDERLY_READINESS_TIMEOUT", default=2.0)
# Broker /readyz checks; unset means CELERY_BROKER_URL (the tests point it elsewhere).
ORDERLY_READINESS_BROKER_URL = env.str("ORDERLY_READINESS_BROKER_URL", default="")
# /readyz and /metrics read the workers' last answer (ops.worker_facts); once it is
# this many seconds old, a background thread asks them again. Probes never wait for it.
ORDERLY_WORKER_FACTS_MAX_AGE = env.float("ORDERLY_WORKER_FACTS_MAX_AGE", default=5.0)
# Bearer token Prometheus sends to /metrics; empty means staff sessions only.
ORDERLY_METRICS_TOKEN = env.str("ORDERLY_METRICS_TOKEN", default="")
# Where every process (gunicorn workers, Celery pool processes, beat) writes its
# task counters for /metrics to add up (prometheus_client's multiprocess mode).
# Empty: /metrics shows only what the database and the broker know.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
# Off only to measure what the task counters cost (bench/run.py, metrics_cost).
ORDERLY_TASK_METRICS = env.bool("ORDERLY_TASK_METRICS", default=True)
# /readyz calls beat stale when the newest periodic send is older than the
# shortest interval schedule plus this; a schedule this far past due is "late".
ORDERLY_BEAT_GRACE_SECONDS = env.int("ORDERLY_BEAT_GRACE_SECONDS", default=30)
# Beat writes each schedule's last run to the database after every send (not
# every 3 minutes), so lateness and beat health are read from fresh rows.
CELERY_BEAT_SYNC_EVERY = 1
# "json": one JSON object per log line, with task, queue, order and trace ids.
ORDERLY_LOG_FORMAT = env.str("ORDERLY_LOG_FORMAT", default="plain")
# OpenTelemetry traces (ops.tracing), off unless an OTLP/HTTP endpoint is set,
# e.g. http://jaeger:4318. OTEL_SERVICE_NAME and the other OTEL_* variables apply.
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="orderly")
# --- end health and metrics -------------------------------------------------------

# How long an outbox row may stay unsent before the relay publishes it.
ORDERLY_OUTBOX_GRACE_SECONDS = env.int("ORDERLY_OUTBOX_GRACE_SECONDS", default=10)

# --- Periodic work (jobs/schedules.py) ----------------------------------------
# Unpaid orders older than this are settled with the gateway (orders.reconciliation):
# paid if it charged, cancelled and their stock released if it confirms it did not.
ORDERLY_ABANDONED_ORDER_SECONDS = _scaled(
    60 * env.int("ORDERLY_ABANDONED_ORDER_MINUTES", default=30)
)
# A charge attempt younger than this may still be on its way to the gateway:
# it is never treated as "nothing charged" (above the charge task's hard limit).
ORDERLY_CHARGE_IN_FLIGHT_SECONDS = _scaled(60)
# Housekeeping: how long task results, sent outbox rows and resolved dead letters are kept.
ORDERLY_TASK_RESULT_RETENTION_DAYS = env.int("ORDERLY_TASK_RESULT_RETENTION_DAYS", default=7)
ORDERLY_OUTBOX_RETENTION_DAYS = env.int("ORDERLY_OUTBOX_RETENTION_DAYS", default=7)
ORDERLY_DEAD_LETTER_RETENTION_DAYS = env.int("ORDERLY_DEAD_LETTER_RETENTION_DAYS", default=30)
# Hours the API keeps an Idempotency-Key and its response (docs/api.md); purged hourly by beat.
ORDERLY_API_IDEMPOTENCY_HOURS = env.int("ORDERLY_API_IDEMPOTENCY_HOURS", default=24)
# Celery rate limit of the warehouse sync (per worker). Retries pass through it too.
ORDERLY_WAREHOUSE_SYNC_RATE_LIMIT = env.str("ORDERLY_WAREHOUSE_SYNC_RATE_LIMIT", default="4/m")
# Task options that come from settings are applied here, not read at import in
# tasks.py, together with every task's time limits times ORDERLY_TIMER_SCALE (one
# annotation object: Celery applies only the first annotation matching a task).
ORDERLY_TASK_OPTIONS = {
    "inventory.sync_warehouse_stock": {"rate_limit": ORDERLY_WAREHOUSE_SYNC_RATE_LIMIT},
}
CELERY_TASK_ANNOTATIONS = ["jobs.timers:TaskAnnotations"]

# --- Outbound webhooks (notifications/webhooks/) -------------------------------
# Seconds to wait before each retry of a failed delivery (jittered, at least any
# Retry-After); one more attempt than entries. Kept on the delivery row and
# dispatched by beat, never as broker countdowns.
ORDERLY_WEBHOOK_RETRY_SCHEDULE = env.list(
    "ORDERLY_WEBHOOK_RETRY_SCHEDULE",
    cast=float,
    default=[5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600],
)
# Failed attempts in a row after which an endpoint is disabled.
ORDERLY_WEBHOOK_DISABLE_AFTER_FAILURES = env.int(
    "ORDERLY_WEBHOOK_DISABLE_AFTER_FAILURES", default=30
)
ORDERLY_WEBHOOK_TIMEOUT = (
    env.float("ORDERLY_WEBHOOK_CONNECT_TIMEOUT", default=3.0),
    env.float("ORDERLY_WEBHOOK_READ_TIMEOUT", default=10.0),
)
# Hosts and IP networks exempt from the SSRF checks (local development, tests),
# e.g. "127.0.0.1,localhost". Empty in production.
ORDERLY_WEBHOOK_ALLOWED_HOSTS = env.list("ORDERLY_WEBHOOK_ALLOWED_HOSTS", default=[])

# --- External services --------------------------------------------------------
SANDBOX_ENABLED = env.bool("SANDBOX_ENABLED", default=DEBUG)
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
PAYMENT_GATEWAY_URL = env.str("PAYMENT_GATEWAY_URL", default=f"{SITE_URL}/sandbox/gateway")
PAYMENT_GATEWAY_API_KEY = env.str("PAYMENT_GATEWAY_API_KEY", default="sk_test_sandbox")
# What the shopper's browser calls to tokenize a card (the checkout page's
# script; the CSP's connect-src allows exactly its origin), and the key it sends:
# a publishable key can only make tokens, which only this account can charge.
PAYMENT_GATEWAY_PUBLIC_URL = env.str("PAYMENT_GATEWAY_PUBLIC_URL", default=PAYMENT_GATEWAY_URL)
PAYMENT_GATEWAY_PUBLISHABLE_KEY = env.str(
    "PAYMENT_GATEWAY_PUBLISHABLE_KEY", default="pk_test_sandbox"
)
PAYMENT_GATEWAY_TIMEOUT = (
    env.float("PAYMENT_GATEWAY_CONNECT_TIMEOUT", default=3.0),
    env.float("PAYMENT_GATEWAY_READ_TIMEOUT", default=10.0),
)
WAREHOUSE_API_URL = env.str("WAREHOUSE_API_URL", default=f"{SITE_URL}/sandbox/warehouse")
WAREHOUSE_API_KEY = env.str("WAREHOUSE_API_KEY", default="wh_test_sandbox")
WAREHOUSE_API_TIMEOUT = (
    env.float("WAREHOUSE_CONNECT_TIMEOUT", default=3.0),
    env.float("WAREHOUSE_READ_TIMEOUT", default=10.0),
)
# Sandbox behaviour (benchmarks set a latency to stand in for a real gateway).
SANDBOX_GATEWAY_LATENCY_MS = env.int("SANDBOX_GATEWAY_LATENCY_MS", default=0)
SANDBOX_SLOW_CARD_SECONDS = env.float("SANDBOX_SLOW_CARD_SECONDS", default=3.0)
# Origins whose pages may tokenize cards at the sandbox gateway (CORS); empty
# means SITE_URL's. A real gateway has the shop register its domain.
SANDBOX_GATEWAY_ALLOWED_ORIGINS = env.list("SANDBOX_GATEWAY_ALLOWED_ORIGINS", default=[])


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- Content-Security-Policy and the other browser-facing headers -----------------
# django-csp 4: every response gets this policy. Scripts and styles come from
# our own origin only (static files; htmx is vendored, with its config in a
# meta tag); an inline <script> needs {{ request.csp_nonce }}. The browser may
# talk to this origin and to the payment gateway's (card tokenization), to
# nothing else; no page may be framed (frame-ancestors, as X-Frame-Options).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],  # the catalog's placeholder pictures are data: SVGs
        "connect-src": [SELF, origin_of(PAYMENT_GATEWAY_PUBLIC_URL)],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# No Referer leaves the shop: order pages carry their id in the URL.
SECURE_REFERRER_POLICY = "same-origin"
# django-permissions-policy: no page may use these browser features (none does).
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "browsing-topics", "camera", "display-capture",
        "geolocation", "gyroscope", "magnetometer", "microphone", "midi", "payment",
        "publickey-credentials-get", "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
    )
}  # fmt: skip

SHOP_NAME = env.str("SHOP_NAME", default="Orderly")
SHOP_CURRENCY = "EUR"
# Locale of prices, amounts and dates on pages, e-mails and invoices (a CLDR/Babel
# name): en_IE gives "€19.90", de_DE "19,90 €".
SHOP_LOCALE = env.str("SHOP_LOCALE", default="en_IE")
SELLER_ADDRESS = env.list(
    "SELLER_ADDRESS", default=["Orderly GmbH", "Hauptstrasse 1", "10115 Berlin", "Germany"]
)
# Invoices embed every font they use (reports/pdf_text.py): DejaVu Sans (Debian's
# fonts-dejavu-core) from this folder, CJK from WenQuanYi Zen Hei (fonts-wqy-zenhei)
# and Japanese from IPAGothic (fonts-ipafont-gothic). All TrueType outlines, which
# is what reportlab embeds (Noto Sans CJK is CFF, so it cannot).
ORDERLY_INVOICE_FONT_DIR = env.str(
    "ORDERLY_INVOICE_FONT_DIR", default="/usr/share/fonts/truetype/dejavu"
)
ORDERLY_INVOICE_CJK_FONT = env.str(
    "ORDERLY_INVOICE_CJK_FONT", default="/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
)
ORDERLY_INVOICE_JAPANESE_FONT = env.str(
    "ORDERLY_INVOICE_JAPANESE_FONT", default="/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"
)

# The web process's access log (gunicorn.access). With ORDERLY_ACCESS_LOG_FILE set
# (`make dev`: var/log/access.log) every request goes to that file, and the console
# shows only what a developer reads: no status polls, health probes or static files,
# and no line for a 4xx/5xx, which django.request already reports. Unset (the image,
# production), gunicorn writes every request to stdout as before.
ORDERLY_ACCESS_LOG_FILE = env.str("ORDERLY_ACCESS_LOG_FILE", default="")
# Requests that repeat on their own (regular expressions on the path).
ORDERLY_ROUTINE_REQUEST_PATHS = [
    rf"^/{STATIC_URL}",
    r"^/favicon\.ico$",
    r"^/(healthz|readyz)$",
    r"^/orders/[0-9a-f-]+/(status|progress)/$",  # the order page's polls
]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Logs say what work was done: no line per idle run of the every-few-seconds
    # jobs, and no start-up chatter (broker URL, peers, task lists) from workers
    # and Flower (jobs/log_filters.py); every line carries its task, queue,
    # order and trace (ops/log_context.py).
    "filters": {
        "context": {"()": "ops.log_context.ContextFilter"},
        "frequent_jobs": {"()": "jobs.log_filters.QuietFrequentJobs"},
        "startup_chatter": {"()": "jobs.log_filters.QuietStartupChatter"},
        "routine_requests": {
            "()": "jobs.log_filters.QuietRoutineRequests",
            "paths": ORDERLY_ROUTINE_REQUEST_PATHS,
        },
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ops.log_context.json_formatter"},
        "message": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if ORDERLY_LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        },
        "console_requests": {
            "class": "logging.StreamHandler",
            "formatter": "json" if ORDERLY_LOG_FORMAT == "json" else "message",
            "filters": ["context", "routine_requests"],
        },
        **(
            {
                "access_file": {
                    "class": "logging.handlers.WatchedFileHandler",  # logrotate-friendly
                    "filename": ORDERLY_ACCESS_LOG_FILE,
                    "formatter": "message",
                    "delay": True,  # opened by the web process's first request only
                }
            }
            if ORDERLY_ACCESS_LOG_FILE
            else {}
        ),
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own default sends "django" records to a console handler of its own
        # when DEBUG is on, and they reach the root's too: every 4xx/5xx twice.
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "celery.beat": {"filters": ["frequent_jobs"]},
        "celery.worker.strategy": {"filters": ["frequent_jobs"]},
        "celery.app.trace": {"filters": ["frequent_jobs"]},
        "celery.worker.consumer.connection": {"level": "WARNING"},
        "celery.worker.consumer.mingle": {"level": "WARNING"},
        "celery.worker.control": {"filters": ["startup_chatter"]},
        "flower.command": {"filters": ["startup_chatter"]},
        "kombu.mixins": {"level": "WARNING"},
        **(
            {
                "gunicorn.access": {
                    "handlers": ["access_file", "console_requests"],
                    "level": "INFO",
                    "propagate": False,
                }
            }
            if ORDERLY_ACCESS_LOG_FILE
            else {}
        ),
    },
}
