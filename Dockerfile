# The API and the Celery workers share this image (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# torch first and pinned, in a layer of its own: it is by far the largest download (the Linux
# wheel from PyPI carries the CUDA libraries the GPU workers need) and changes least often.
RUN pip install torch==2.13.0

COPY pyproject.toml ./
COPY backend/ backend/
COPY worker/ worker/
RUN pip install .

COPY alembic.ini ./
COPY alembic/ alembic/

# Non-root; /data and /models are owned by the user so that named volumes mounted there
# (which take the ownership of the image's folder on first use) are writable.
RUN useradd --create-home --uid 1000 studio \
    && mkdir -p /data /models /benchmarks \
    && chown studio:studio /data /models
USER studio

EXPOSE 8000
CMD ["sh", "-c", "alembic upgrade head && uvicorn backend.app.main:app --host 0.0.0.0 --port 8000"]
