# Test agent for test/docker/compose.test.ts: the tools the checks use (curl, dig, git, node, nft, ip).
ARG BASE_IMAGE=local/node:20
FROM ${BASE_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl dnsutils git nftables iproute2 util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 --shell /bin/bash agent
CMD ["sleep", "infinity"]
