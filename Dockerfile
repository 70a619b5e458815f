FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    EMULATOR_HOST=0.0.0.0 EMULATOR_PORT=8000

WORKDIR /app
COPY pyproject.toml README.md ./
COPY images_emulator ./images_emulator
COPY fixtures ./fixtures
RUN pip install . && useradd --create-home --uid 10001 emulator

USER emulator
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
CMD ["images-emulator"]
