# Okno in production: `docker compose up` runs it with PostgreSQL and Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY bots ./bots
COPY adapters ./adapters
COPY dialog ./dialog
COPY handoff ./handoff
COPY storage ./storage
RUN pip install . && useradd --system --uid 10001 okno
USER okno

EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)" || exit 1
CMD ["okno", "run"]
