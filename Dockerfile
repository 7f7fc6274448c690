# Container image of bajie-sim: a build stage with the Rust toolchain, then a runtime image that
# holds only the binary and the C libraries it links (no shell, no package manager).
#   docker build -t bajie-sim .
#   docker run --rm -p 8080:8080 bajie-sim --seed 42 --frozen --no-sim
# Inside it listens on 0.0.0.0:8080 as user 10001; flags go after the image name or in the
# environment (-e BAJIE_SIM_SEED=42). /data is writable by that user (--state-file
# /data/world.json). The health check runs `bajie-sim probe`, which asks GET /_sim/health.
# CI builds the runtime stage from its release binary and runs it: scripts/image-test.sh.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
    && bash scripts/image-rootfs.sh target/release/bajie-sim /out

FROM scratch
COPY --from=build /out/rootfs /
COPY --from=build --chown=10001:10001 /out/data /data
USER 10001:10001
ENV BAJIE_SIM_BIND=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/bajie-sim", "probe"]
ENTRYPOINT ["/usr/local/bin/bajie-sim"]
