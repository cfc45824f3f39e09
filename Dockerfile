# isles2018 container: predicts an ISLES 2018 TESTING folder (/input -> /output) with the weights
# baked in, or runs any `isles2018` command (train, predict, inspect, ...).
#
#   make docker                                   # CPU image from python:3.11-slim
#   make docker BASE_IMAGE=<CUDA image with Python 3.11 + venv>   # GPU image (add a CUDA
#                                                 # torch wheel to ./wheelhouse first)
#
# Dependencies come from ./wheelhouse (filled by `make wheelhouse`), so the build needs no
# network. The base image needs python3 (3.11) with the venv module.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY wheelhouse/ /tmp/wheelhouse/
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links /tmp/wheelhouse isles2018 \
    && /opt/venv/bin/pip uninstall --yes pip \
    && find /opt/venv -name "__pycache__" -prune -exec rm -rf {} + \
    && rm -rf /opt/venv/lib/python3*/site-packages/torch/include

FROM ${BASE_IMAGE}
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib \
    PATH=/opt/venv/bin:$PATH
RUN getent passwd app >/dev/null || useradd --system --uid 10001 --no-create-home app
COPY --from=build /opt/venv /opt/venv
WORKDIR /opt/app
COPY entrypoint.py /opt/app/entrypoint.py
COPY weights/ /opt/app/weights/
USER app
ENTRYPOINT ["python3", "/opt/app/entrypoint.py"]
