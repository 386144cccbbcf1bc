# Digit Lens: the web app and REST API, served by gunicorn.
#   docker build -t digit-lens . && docker run --rm -p 8000:8000 digit-lens

# Build stage: the pinned dependencies go into a virtualenv that the final stage copies whole,
# so pip, its cache and the build context never reach the image that runs.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
# Only requirements.txt before the install: a change to the code reuses this layer.
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt

FROM python:3.11-slim-bookworm
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000
COPY --from=build /opt/venv /opt/venv
WORKDIR /srv/digit-lens
# Only what runs: the app, the network and its weights, the page, the server config.
COPY gunicorn.conf.py ./
COPY model/ model/
COPY app/ app/
COPY templates/ templates/
COPY static/ static/
# The code stays owned by root and read-only to the server's user, which has no home and no
# shell: nothing in the container can rewrite what it serves.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]
CMD ["gunicorn", "--config", "gunicorn.conf.py", "app:create_app()"]
