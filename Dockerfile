# medialens image for docker-compose.yml: the API and the workers run the same image with different commands.
# BASE_IMAGE: any Debian-based image with Python 3.11 and its venv module (the default is Docker Hub's).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# libgomp: OpenMP runtime used by ONNX Runtime and the e5 engine.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*

# A virtual environment: the same steps work on the python image and on a distribution's own Python.
RUN python3 -m venv /opt/medialens
ENV PATH=/opt/medialens/bin:$PATH

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --upgrade pip && pip install .

RUN useradd --create-home medialens && mkdir -p /data /models && chown medialens /data /models
USER medialens
EXPOSE 8000
CMD ["medialens", "serve", "--host", "0.0.0.0", "--port", "8000"]
