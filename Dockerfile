# medialens image for docker-compose.yml: the API and the workers run the same image with different commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
# libgomp: OpenMP runtime used by ONNX Runtime and the e5 engine.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install .

RUN useradd --create-home medialens && mkdir -p /data /models && chown medialens /data /models
USER medialens
EXPOSE 8000
CMD ["medialens", "serve", "--host", "0.0.0.0", "--port", "8000"]
