# The zapwoot bridge as a container image: built in the Rust image, run in a slim Debian image
# as the non-root user zapwoot, with the SQLite state in the volume /var/lib/zapwoot and the
# same default configuration as the Debian package (bins/zapwoot/packaging/zapwoot.toml).
#
#   docker build -t zapwoot .
#   docker run -d --name zapwoot -p 8080:8080 -v zapwoot:/var/lib/zapwoot \
#     -e ZAPWOOT_ADMIN_TOKEN=... -e ZAPWOOT_PUBLIC_URL=http://bridge.internal:8080 zapwoot

FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p zapwoot \
 && strip target/release/zapwoot \
 && install -D -m 0755 target/release/zapwoot /out/zapwoot

FROM docker.io/library/debian:bookworm-slim
# ca-certificates: the TLS roots for https Chatwoot and gateways.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --user-group --home-dir /var/lib/zapwoot --no-create-home \
      --shell /usr/sbin/nologin zapwoot \
 && install -d -m 0750 -o zapwoot -g zapwoot /var/lib/zapwoot
COPY --from=build /out/zapwoot /usr/bin/zapwoot
COPY bins/zapwoot/packaging/zapwoot.toml /etc/zapwoot/zapwoot.toml
USER zapwoot
WORKDIR /var/lib/zapwoot
VOLUME /var/lib/zapwoot
# The environment wins over the file: listen on every address of the container.
ENV ZAPWOOT_CONFIG=/etc/zapwoot/zapwoot.toml \
    ZAPWOOT_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["zapwoot", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["zapwoot"]
CMD ["serve"]
