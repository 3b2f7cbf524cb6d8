FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home --uid 10001 priyom

COPY pyproject.toml constraints.txt README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY scenarios ./scenarios
COPY workers ./workers
COPY admin_bot ./admin_bot
COPY migrations ./migrations
COPY examples ./examples
RUN pip install -c constraints.txt '.[postgres,sentry]' && mkdir -p /app/data && chown priyom /app/data

USER priyom
# Secrets (BOT_TOKEN…) come from the environment at run time, never from the image.
ENV DATABASE_URL=sqlite:///app/data/priyom.sqlite3 BUSINESS_CONFIG=/app/examples/salon.toml
VOLUME ["/app/data"]
CMD ["python", "-m", "bot"]
