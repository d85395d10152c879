# Quartierbot: `quartierbot run` (bot + HTTP server on port 8080).
# Python 3.11: the version the lock files are resolved for.
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080

RUN groupadd --system quartierbot && useradd --system --gid quartierbot --home /app quartierbot
WORKDIR /app

# Dependencies first, so that a code change doesn't reinstall them: exactly the locked
# versions, checked against their hashes (the lock includes setuptools, the build backend).
COPY requirements-runtime.lock ./
RUN pip install --require-hashes --no-deps -r requirements-runtime.lock

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
# Editable install: the catalogs under /app/locales are read (and compiled in memory) at start.
RUN pip install --no-deps --no-build-isolation -e . \
    && quartierbot i18n check \
    && chown -R quartierbot:quartierbot /app

USER quartierbot
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"HTTP_PORT\",\"8080\")}/health', timeout=4)"
ENTRYPOINT ["quartierbot"]
CMD ["run"]
