# syntax=docker/dockerfile:1
# algorithmia-mock: an offline, stateful fake of the Algorithmia REST API v1.
#   docker build -t algorithmia-mock .
#   docker run --rm -p 8080:8080 algorithmia-mock
#   docker run --rm -p 8080:8080 -v "$PWD/my.yaml:/fixtures/my.yaml:ro" \
#       -e MOCKSERVER_FIXTURES=/fixtures/my.yaml algorithmia-mock

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# ---- build stage: turn the source into a wheel (build tools stay here) ----
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mockserver ./mockserver
COPY openapi ./openapi
COPY fixtures ./fixtures
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# ---- final stage: the wheel and its runtime dependencies only ----
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MOCKSERVER_HOST=0.0.0.0 \
    MOCKSERVER_PORT=8080
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && groupadd --gid 10001 mock \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin mock \
    && mkdir /fixtures && chown mock:mock /fixtures
# Custom fixtures: mount files here and point MOCKSERVER_FIXTURES at them
# (':'-separated for several). Without it the bundled sandbox is served.
VOLUME ["/fixtures"]
USER 10001:10001
WORKDIR /home/mock
# The compiled spec, cached in the image (~/.cache/algorithmia-mock/spec, the mock user's):
# each container's start reads it instead of compiling the documents (docs/speed.md, "Start-up").
RUN python -c "from mockserver.edge.spec import ApiSpec; ApiSpec.load()"
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/_mock/health' % os.environ.get('MOCKSERVER_PORT', '8080'), timeout=2)"]
# ONE process with threads (waitress, mockserver/serving/serve.py): the state lives in memory,
# a second process would serve a second, diverging state (MOCKSERVER_WORKERS other than 1 is
# refused). Every setting is a MOCKSERVER_* variable read into the one Settings
# (mockserver/settings.py, the README's settings table); host and port are set above.
CMD ["mockserver"]
