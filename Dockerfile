# The docsvc image used by docker-compose.yml for web, worker and beat.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends poppler-utils fonts-dejavu-core fonts-liberation2 curl \
      tesseract-ocr tesseract-ocr-osd tesseract-ocr-vie tesseract-ocr-eng ghostscript \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
# The locked, hash-checked dependencies first (their own layer: a code change
# does not download them again), as scripts/python-env.sh installs them.
COPY requirements ./requirements
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/build.txt \
 && pip install --no-cache-dir --require-hashes --no-deps -r requirements/serve.txt
COPY docsvc ./docsvc
COPY storage ./storage
COPY search ./search
COPY signing ./signing
COPY config ./config
# Editable: config/ (the Elasticsearch template) is read from beside the packages.
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e . && useradd --system --home /app docsvc && mkdir -p /data && chown docsvc /data
USER docsvc
ENV DOCSVC_CONFIG=/app/config/scaled.toml DOCSVC_DATA_DIR=/data
EXPOSE 8080
CMD ["gunicorn", "-c", "python:docsvc.gunicorn_config", "--bind", "0.0.0.0:8080", "--workers", "2", "docsvc.wsgi:app"]
