# csbot: the HTTP server (chat callbacks, event API, scheduled pushes). Runs as the non-root user
# csbot (uid 10001); data (SQLite, charts) in the /data volume. With PostgreSQL: docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# CJK font so charts render Chinese text (no tofu boxes).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei fontconfig \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY analytics ./analytics
RUN pip install .

RUN useradd --create-home --uid 10001 csbot && mkdir -p /data && chown csbot /data
USER csbot
WORKDIR /data
ENV CSBOT_DATABASE__URL=sqlite:////data/csbot.db CSBOT_GENERAL__DATA_DIR=/data \
    CSBOT_SERVER__HOST=0.0.0.0 CSBOT_SERVER__PORT=8080 MPLCONFIGDIR=/data/.matplotlib
# The image must start: settings, font and database driver checked at build time (as the runtime user).
RUN csbot serve --check-config
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)" || exit 1
CMD ["csbot", "serve"]
