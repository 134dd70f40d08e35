# syntax=docker/dockerfile:1
#
# One image for every Orderly process: web (gunicorn), the Celery workers,
# beat and Flower. The command picks the process (see Procfile and
# docker-compose.yml); the default command runs the web server.
#
# Nothing secret is baked in: settings read every deployment value from the
# environment at run time (see .env.example).

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: resolve the locked dependencies into /app/.venv ------------------
FROM ${PYTHON_IMAGE} AS builder

# The uv that wrote uv.lock (`uv --version`).
RUN pip install --no-cache-dir uv==0.13.9

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app
COPY pyproject.toml uv.lock ./
# Runtime dependencies only, exactly as locked; the project itself is not a
# package (tool.uv.package = false), its code is copied in the final stage.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project

# --- runtime ---------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# REMAP_SIGTERM: a stop (SIGTERM) starts Celery's soft shutdown, see
# CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT in project/settings.py.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH="/app/.venv/bin:${PATH}" \
    DJANGO_SETTINGS_MODULE=project.settings \
    REMAP_SIGTERM=SIGQUIT

# The invoice's fonts, all embedded in each PDF (reports/pdf_text.py): DejaVu Sans
# (Latin, Greek, Cyrillic, Hebrew, Arabic), WenQuanYi Zen Hei (Chinese, Korean) and
# IPAGothic (Japanese); TrueType outlines, which reportlab embeds. Read from
# ORDERLY_INVOICE_FONT_DIR, ORDERLY_INVOICE_CJK_FONT and ORDERLY_INVOICE_JAPANESE_FONT.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        fonts-dejavu-core fonts-wqy-zenhei fonts-ipafont-gothic \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 orderly \
    && useradd --system --uid 10001 --gid orderly --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin orderly

WORKDIR /app
# Same base image and same path as in the builder, so the venv's interpreter
# link and script shebangs stay valid.
COPY --from=builder /app/.venv /app/.venv
COPY . .

# Static files are collected at build time with the production storage
# (DJANGO_DEBUG=false writes the WhiteNoise manifest; it serves DEBUG runs as
# well). Secret key, hosts and database are throwaways for this one command
# (production start-up requires them), never an ENV.
# var/ is the only place the app writes to when no S3 bucket is configured.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=build-only \
        DATABASE_URL=sqlite:////tmp/build-only.sqlite3 \
        python manage.py collectstatic --noinput \
    && mkdir -p var/media var/mail /var/run/orderly-metrics \
    && chown -R orderly:orderly var /var/run/orderly-metrics

USER orderly

EXPOSE 8000

# The Procfile's web line, bound to every interface for the container. `exec`
# makes gunicorn PID 1, so `docker stop` reaches it for a graceful shutdown.
CMD ["sh", "-c", "exec gunicorn project.wsgi --bind 0.0.0.0:8000 --workers ${WEB_WORKERS:-2} --threads ${WEB_THREADS:-4} --access-logfile - --graceful-timeout 30"]
