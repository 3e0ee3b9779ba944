# danemq: one multi-stage Dockerfile for every image.
#
#   target        what it is                                  CMD
#   maintenance   identity tools, watches DNS against it      danemq-maintenance watch
#   sender        sends messages, flushes the outbox          danemq-sender run
#   receiver      receives, verifies, stores messages         danemq-receiver
#   broker        local Mosquitto admitting devices by DANE   run-broker.sh
#                 identity (danemq_mosquitto_auth.so, TLS;
#                 docker-compose `local`)
#   dns           local Knot + Unbound with a DNSSEC-signed   run-dns.sh
#                 test zone (docker-compose `local`)
#
# Multi-architecture by construction: the only base image is Debian's
# multi-arch `debian:bookworm` and nothing is downloaded but Debian packages,
# so `docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7`
# (or Balena's builders) build the same file for each architecture.
#
# Every Debian package comes from a list in deps/ through
# scripts/install-deps.sh: deps/build.txt (build stage), deps/runtime.txt
# (service images and the broker's plugin), deps/servers.txt (broker and dns).
# Nothing is named here.

ARG DEBIAN_RELEASE=bookworm

# ---- build: the same CMake build as the tests, without tests and benchmarks ----
FROM debian:${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY deps/ deps/
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDANEMQ_WERROR=OFF \
      -DDANEMQ_BUILD_TESTS=OFF -DDANEMQ_BUILD_BENCH=OFF -DDANEMQ_BUILD_FUZZ=OFF \
 && cmake --build /build \
 && DESTDIR=/staging cmake --install /build --prefix /usr/local --strip

# ---- runtime: what the three services share ----
FROM debian:${DEBIAN_RELEASE} AS runtime
COPY deps/runtime.txt /tmp/danemq-deps/deps/runtime.txt
COPY scripts/install-deps.sh /tmp/danemq-deps/scripts/install-deps.sh
RUN /tmp/danemq-deps/scripts/install-deps.sh runtime && rm -rf /tmp/danemq-deps /var/lib/apt/lists/*
# The services run as this non-root user; the identity and data volumes are
# created owned by it (a new named volume takes the ownership of the image's
# directory), so the key never needs root to be read.
ARG APP_UID=1000
RUN groupadd --gid "${APP_UID}" danemq \
 && useradd --uid "${APP_UID}" --gid danemq --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin danemq \
 && mkdir -p /identity /data \
 && chown "${APP_UID}:${APP_UID}" /identity /data \
 && chmod 0700 /identity /data
COPY --from=build /staging/usr/local/ /usr/local/
# The services and the original's command names must be on PATH, and every
# library they need must come from deps/runtime.txt.
RUN for command in danemq-maintenance danemq-sender danemq-receiver \
                   create_selfsigned_id create_id_csr generate_tlsa send_message; do \
      command -v "$command" >/dev/null || { echo "missing command on PATH: $command" >&2; exit 1; }; \
    done \
 && if ldd /usr/local/bin/danemq-* | grep "not found"; then \
      echo "a library is missing from deps/runtime.txt" >&2; exit 1; \
    fi
ENV CRYPTO_PATH=/identity/ \
    DATA_PATH=/data/
VOLUME ["/identity", "/data"]
WORKDIR /data
USER ${APP_UID}:${APP_UID}

# ---- local servers (docker-compose `local` profile): Debian's Mosquitto, Knot, Unbound ----
FROM debian:${DEBIAN_RELEASE} AS servers
COPY deps/servers.txt /tmp/danemq-deps/deps/servers.txt
COPY scripts/install-deps.sh /tmp/danemq-deps/scripts/install-deps.sh
RUN /tmp/danemq-deps/scripts/install-deps.sh servers && rm -rf /tmp/danemq-deps /var/lib/apt/lists/*
ARG APP_UID=1000
RUN groupadd --gid "${APP_UID}" danemq \
 && useradd --uid "${APP_UID}" --gid danemq --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin danemq \
 && mkdir -p /var/lib/danemq/broker /var/lib/danemq/broker-ca /var/lib/danemq/dns \
 && chown -R "${APP_UID}:${APP_UID}" /var/lib/danemq
COPY deploy/mosquitto/ /opt/danemq/mosquitto/
COPY deploy/dns/ /opt/danemq/dns/
USER ${APP_UID}:${APP_UID}

FROM servers AS broker
# The admission plugin from the build stage's `cmake --install`, and the
# libraries it loads: those of the services (deps/runtime.txt).
USER root
COPY deps/runtime.txt /tmp/danemq-deps/deps/runtime.txt
COPY scripts/install-deps.sh /tmp/danemq-deps/scripts/install-deps.sh
RUN /tmp/danemq-deps/scripts/install-deps.sh runtime && rm -rf /tmp/danemq-deps /var/lib/apt/lists/*
COPY --from=build /staging/usr/local/lib/danemq/ /usr/local/lib/danemq/
RUN if ldd /usr/local/lib/danemq/danemq_mosquitto_auth.so | grep "not found"; then \
      echo "a library of the plugin is missing from deps/runtime.txt" >&2; exit 1; \
    fi
ARG APP_UID=1000
USER ${APP_UID}:${APP_UID}
# The TLS listener's development CA is made in the state volume at first
# start; its certificate (only) is copied to BROKER_CA_EXPORT_DIR for the
# clients. BROKER_NAME and the plugin's DNS settings come from the compose file.
ENV BROKER_STATE_DIR=/var/lib/danemq/broker \
    BROKER_LISTEN=0.0.0.0 \
    BROKER_PORT=8883 \
    BROKER_AUTH=dane \
    BROKER_AUTH_PLUGIN=/usr/local/lib/danemq/danemq_mosquitto_auth.so \
    BROKER_CA_EXPORT_DIR=/var/lib/danemq/broker-ca
VOLUME ["/var/lib/danemq/broker", "/var/lib/danemq/broker-ca"]
EXPOSE 8883/tcp
CMD ["/opt/danemq/mosquitto/run-broker.sh"]

FROM servers AS dns
ENV DNS_STATE_DIR=/var/lib/danemq/dns \
    DNS_LISTEN=0.0.0.0 \
    KNOT_PORT=5300 \
    UNBOUND_PORT=5353
VOLUME ["/var/lib/danemq/dns"]
EXPOSE 5300/tcp 5300/udp 5353/tcp 5353/udp
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["sh", "-c", "test -f \"$DNS_STATE_DIR/ready\" && kdig @127.0.0.1 -p \"$UNBOUND_PORT\" +dnssec +timeout=2 \"${DNS_ZONE:-danemq.test}\" SOA | grep -q 'Flags: .* ad'"]
CMD ["/opt/danemq/dns/run-dns.sh"]

# ---- the three services ----
FROM runtime AS maintenance
# Long-running like the original's maintenance container, which only slept:
# `watch` re-runs `check` and logs when DNS and the local identity drift
# apart or the certificate nears expiry.
CMD ["danemq-maintenance", "watch"]

FROM runtime AS sender
CMD ["danemq-sender", "run"]

FROM runtime AS receiver
# Healthy = connected to the broker and identity in sync with DNS, from the
# state the running receiver keeps.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["danemq-receiver", "health"]
CMD ["danemq-receiver"]
