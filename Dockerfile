# kvguard container image: `serve` (the webhook) and `reconcile` (the
# reconciler) from one binary. Multi-stage: the build stage has the compilers
# and -dev packages, the runtime stage only the shared libraries the binary
# links (ldd build/kvguard: libmicrohttpd12, libgnutls30, libjson-c5,
# libyaml-0-2, libcurl4, libssl3; the rest are their own dependencies).
#
#   docker build -t kvguard:0.1.0 .
#
# The build stage installs what .ci/deps.sh installs (one list for CI and
# image); the runtime list must cover every pkg-config module of
# CMakeLists.txt (tests/unit/test_manifests.c checks both). Pin both base
# images by digest in the release pipeline.

FROM debian:12 AS build
# The dependency script first, alone: its layer stays cached across source
# changes.
COPY .ci/deps.sh /tmp/deps.sh
RUN bash /tmp/deps.sh && rm -rf /var/lib/apt/lists/*
# The source path is compiled in as the default cluster-state directory
# (KVG_DEFAULT_STATE_DIR = <source>/examples/cluster): the runtime stage
# copies the examples to the same path so `kvguard review` works offline.
WORKDIR /usr/src/kvguard
COPY . .
# examples/cluster may be empty (git keeps no empty directories).
RUN mkdir -p examples/cluster
# Tests run in CI (.ci/run), not in the image build.
RUN cmake -S . -B /tmp/build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKVG_TESTS=OFF \
 && cmake --build /tmp/build --target kvguard -j"$(nproc)" \
 && cmake --install /tmp/build --prefix /usr/local --strip \
 && /usr/local/bin/kvguard version

FROM debian:12-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libmicrohttpd12 libgnutls30 libjson-c5 libyaml-0-2 libcurl4 libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 65532 kvguard \
 && useradd --system --uid 65532 --gid 65532 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin kvguard
COPY --from=build /usr/local/bin/kvguard /usr/local/bin/kvguard
COPY --from=build /usr/src/kvguard/examples/cluster /usr/src/kvguard/examples/cluster
# Same uid as runAsUser in manifests/: runAsNonRoot can verify a numeric USER.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["/usr/local/bin/kvguard"]
CMD ["serve"]
