# syntax=docker/dockerfile:1
#
# One image per service, all built from this file:
#
#   docker build --target levers     -t planeco/levers:0.1.0     .
#   docker build --target diagnostic -t planeco/diagnostic:0.1.0 .
#   docker build --target actions    -t planeco/actions:0.1.0    .
#   docker build --target gateway    -t planeco/gateway:0.1.0    .
#
# How a service is installed, and why this way:
# - `uv sync --frozen --no-dev --package planeco-<service>` installs exactly what uv.lock pins for that one
#   workspace member and planeco-shared, nothing else: the levers image holds no gateway code and so on.
# - The `planeco` console script is the workspace's root project (src/planeco), which depends on all four
#   services, so it is not installed here. deploy/docker/planeco is installed as /usr/local/bin/planeco instead:
#   it mounts the same Typer sub-apps as src/planeco/cli.py (each service's own cli.py) for the services the
#   image holds, so `planeco levers migrate`, `planeco levers serve …`, `planeco auth create-key …` run the
#   same code as from a checkout.
# - Workspace members stay *editable* installs (uv's default) and their source is copied to /app at the same
#   relative paths as in the repo: `migrate` finds alembic.ini and migrations/ from the package's own location
#   (planeco_shared.migrations.service_root_of), and the importers read services/<svc>/data/ the same
#   way. A non-editable install would leave both behind.
# - The runtime stages copy /app from their build stage and run as an unprivileged user on files owned by
#   root, so the root filesystem can be mounted read-only (bytecode is compiled at build time).
# - No secret is baked in: the database URL and the internal secret come from the environment at run time
#   (see deploy/README.md). PLANECO_<SERVICE>_ENVIRONMENT defaults to production, which refuses to start
#   without a real internal secret.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------------------
# uv, pinned to the version dev.py uses.
FROM ${PYTHON_IMAGE} AS build-base
ARG UV_VERSION=0.13.8
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/

# ---------------------------------------------------------------------------------------------------------
# What every runtime image shares: an unprivileged user, the venv on PATH, no bytecode writes at run time.
FROM ${PYTHON_IMAGE} AS runtime-base
RUN groupadd --system --gid 10001 planeco \
    && useradd --system --uid 10001 --gid planeco --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin planeco
ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /app
COPY --chmod=0755 deploy/docker/planeco /usr/local/bin/planeco

# ---------------------------------------------------------------------------------------------------------
# levers
FROM build-base AS build-levers
COPY services/levers/pyproject.toml services/levers/
# Third-party dependencies first: this layer is reused until uv.lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package planeco-levers
COPY shared/src shared/src
COPY services/levers/alembic.ini services/levers/
COPY services/levers/migrations services/levers/migrations
COPY services/levers/data services/levers/data
COPY services/levers/src services/levers/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package planeco-levers \
    && python -m compileall -q shared/src services/levers/src services/levers/migrations

FROM runtime-base AS levers
COPY --from=build-levers /app /app
ENV PLANECO_LEVERS_ENVIRONMENT=production
USER 10001:10001
EXPOSE 8001
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/healthz', timeout=2)"]
CMD ["planeco", "levers", "serve", "--host", "0.0.0.0", "--port", "8001"]

# ---------------------------------------------------------------------------------------------------------
# diagnostic
FROM build-base AS build-diagnostic
COPY services/diagnostic/pyproject.toml services/diagnostic/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package planeco-diagnostic
COPY shared/src shared/src
COPY services/diagnostic/alembic.ini services/diagnostic/
COPY services/diagnostic/migrations services/diagnostic/migrations
COPY services/diagnostic/data services/diagnostic/data
COPY services/diagnostic/src services/diagnostic/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package planeco-diagnostic \
    && python -m compileall -q shared/src services/diagnostic/src services/diagnostic/migrations

FROM runtime-base AS diagnostic
COPY --from=build-diagnostic /app /app
ENV PLANECO_DIAGNOSTIC_ENVIRONMENT=production
USER 10001:10001
EXPOSE 8002
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8002/healthz', timeout=2)"]
CMD ["planeco", "diagnostic", "serve", "--host", "0.0.0.0", "--port", "8002"]

# ---------------------------------------------------------------------------------------------------------
# actions
FROM build-base AS build-actions
COPY services/actions/pyproject.toml services/actions/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package planeco-actions
COPY shared/src shared/src
COPY services/actions/alembic.ini services/actions/
COPY services/actions/migrations services/actions/migrations
COPY services/actions/src services/actions/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package planeco-actions \
    && python -m compileall -q shared/src services/actions/src services/actions/migrations

FROM runtime-base AS actions
COPY --from=build-actions /app /app
ENV PLANECO_ACTIONS_ENVIRONMENT=production
USER 10001:10001
EXPOSE 8003
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8003/healthz', timeout=2)"]
CMD ["planeco", "actions", "serve", "--host", "0.0.0.0", "--port", "8003"]

# ---------------------------------------------------------------------------------------------------------
# gateway (its database holds only the hashed API keys; `planeco gateway migrate` and `planeco auth …` run here)
FROM build-base AS build-gateway
COPY services/gateway/pyproject.toml services/gateway/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package planeco-gateway
COPY shared/src shared/src
COPY services/gateway/alembic.ini services/gateway/
COPY services/gateway/migrations services/gateway/migrations
COPY services/gateway/src services/gateway/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package planeco-gateway \
    && python -m compileall -q shared/src services/gateway/src services/gateway/migrations

FROM runtime-base AS gateway
COPY --from=build-gateway /app /app
ENV PLANECO_GATEWAY_ENVIRONMENT=production
USER 10001:10001
EXPOSE 8000
# /healthz answers 200 while the gateway process is up, even when an upstream is down ("degraded").
# It asks each service's /readyz with a 2 s timeout, hence the longer timeout here.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["planeco", "gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
