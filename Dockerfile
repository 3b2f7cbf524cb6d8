# syntax=docker/dockerfile:1
# Priyom: `docker build -t priyom .`, then see the README's Docker section (config, data volume).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 priyom

# Dependencies first, from pyproject.toml alone (with the PostgreSQL driver and Sentry): this layer is
# rebuilt only when the dependencies change, not on every change of the source.
WORKDIR /src
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres'] + p['optional-dependencies']['sentry']))" > requirements.txt \
    && pip install -c constraints.txt -r requirements.txt

# The source (.dockerignore keeps .venv, data/, .env, tests and caches out of the context).
COPY . .
RUN pip install --no-deps . && rm -rf /src

WORKDIR /app
RUN mkdir -p /app/data && chown priyom:priyom /app/data
USER priyom
# Secrets (BOT_TOKEN…) come from the environment at run time, never from the image.
# BUSINESS_CONFIG defaults to the demo salon inside the package: mount your own file.
ENV DATABASE_URL=sqlite:///app/data/priyom.sqlite3 WEBHOOK_PORT=8080
VOLUME ["/app/data"]
# WhatsApp / MAX (and Telegram webhook) callbacks are served on WEBHOOK_PORT.
EXPOSE 8080
# Alive = the process answers /healthz on its own server (every mode serves it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WEBHOOK_PORT', '8080'), timeout=4)"]
CMD ["priyom"]
