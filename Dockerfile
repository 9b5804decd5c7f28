FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY documents ./documents
COPY service ./service
COPY scripts ./scripts

RUN useradd --system --uid 10001 --no-create-home app && chown -R app /app
USER app

EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"

# --no-proxy-headers: the app alone reads X-Forwarded-For, and only from TRUSTED_PROXIES (uvicorn
# would otherwise rewrite the client address itself, and "*" believed any client's header)
CMD ["uvicorn", "service.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-proxy-headers"]
