# The registry's application image: web (gunicorn), Celery worker and Celery beat all run from it;
# docker-compose.yml picks the command. Configuration comes from environment variables only
# (docs/deployment.md); nothing secret is baked into the image.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    REGISTRY_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    WHITENOISE_USE_FINDERS=false

# Pango/HarfBuzz for WeasyPrint (PDF), a CJK font so PDFs can print Chinese names.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 registry \
    && useradd --system --uid 10001 --gid registry --home-dir /app --no-create-home registry

WORKDIR /app
# The runtime set only (no test tools), every package pinned with its hashes: pip refuses a file that
# does not match (requirements/README.md).
COPY requirements/base.txt requirements/base.txt
RUN pip install --require-hashes -r requirements/base.txt

COPY . .

# Static files are collected at build time; throw-away keys keep the settings from writing
# key files into the image.
RUN SECRET_KEY=collectstatic-only \
    FIELD_ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    FIELD_HASH_KEY=collectstatic-only \
    CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput -v 0 \
    && rm -rf /app/var \
    && mkdir -p /app/var \
    && chown registry:registry /app/var

USER registry
EXPOSE 8000

# docker-compose.yml overrides the command for the worker, beat and the migrate job.
CMD ["gunicorn", "registry.wsgi:application", "--bind", "0.0.0.0:8000", "--no-control-socket", \
     "--access-logfile", "-", "--graceful-timeout", "20"]
