# The images emulator: `docker build -t images-emulator .` then `docker run -p 8000:8000 images-emulator`.

# Stage 1: the package as a wheel (no build leftovers reach the image).
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY images_emulator ./images_emulator
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    EMULATOR_HOST=0.0.0.0 EMULATOR_PORT=8000

# The dependencies, in their own layer: read from pyproject.toml, so only a change there reinstalls them.
RUN --mount=type=bind,source=pyproject.toml,target=/tmp/pyproject.toml \
    python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt \
    && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin emulator

# The package itself: a source change rebuilds only this layer.
RUN --mount=type=bind,from=wheel,source=/wheels,target=/tmp/wheels \
    pip install --no-cache-dir --no-deps /tmp/wheels/*.whl

WORKDIR /app
COPY fixtures ./fixtures

USER 10001:10001
EXPOSE 8000
# Follows EMULATOR_PORT / EMULATOR_HOST; exec form, no shell.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
    CMD ["python", "-m", "images_emulator.server.healthcheck"]
# Exec form: the server is PID 1 and gets the SIGTERM of `docker stop` itself.
CMD ["images-emulator"]
