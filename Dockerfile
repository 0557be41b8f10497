# The server image: one uvicorn process (deploy/serve.sh) serving mmo.asgi with
# the production settings.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=mmo.settings.production \
    MMO_VAR_DIR=/app/var

# GeoDjango needs GDAL, GEOS and PROJ at run time (gdal-bin brings all three).
RUN apt-get update \
    && apt-get install -y --no-install-recommends gdal-bin libsqlite3-mod-spatialite \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
# Static files are fingerprinted at build time; the key only satisfies settings.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 \
    && useradd --system --home /app mmo && chown -R mmo /app/var
USER mmo

EXPOSE 8000
CMD ["deploy/serve.sh"]
