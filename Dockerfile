# 乡才通 Xiangcai — production image (PostgreSQL via XIANGCAI_DATABASE_URL, or the SQLite default).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 \
    XIANGCAI_DATA_DIR=/var/lib/xiangcai

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv/xiangcai
COPY pyproject.toml constraints.txt README.md ./
COPY app ./app
COPY matching ./matching
# torch: the CPU build only (the default index would pull a multi-GB CUDA build).
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install --no-cache-dir -c constraints.txt .
COPY migrations ./migrations
COPY alembic.ini ./
COPY seed ./seed

RUN useradd --system --home /var/lib/xiangcai xiangcai \
    && mkdir -p /var/lib/xiangcai && chown xiangcai /var/lib/xiangcai
USER xiangcai
EXPOSE 8000
VOLUME ["/var/lib/xiangcai"]

# `init` applies migrations and loads the counties (idempotent); XIANGCAI_ENV=production makes
# the service refuse to start without a real XIANGCAI_SECRET_KEY.
# `serve` runs XIANGCAI_WORKERS processes (default: one per core); a reverse proxy in front is
# trusted for X-Forwarded-For only when named in XIANGCAI_TRUSTED_PROXIES.
CMD ["sh", "-c", "python -m app init && exec python -m app serve --host 0.0.0.0 --port 8000"]
