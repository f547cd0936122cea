FROM python:3.11-slim
WORKDIR /opt/hotspot-monitor
COPY . .
RUN pip install --no-cache-dir .
RUN useradd -r hotspot && mkdir -p /var/lib/hotspot-monitor && chown hotspot /var/lib/hotspot-monitor
USER hotspot
WORKDIR /var/lib/hotspot-monitor
ENTRYPOINT []
