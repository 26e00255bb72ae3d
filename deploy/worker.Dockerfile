# The worker image: the built tree and its production dependencies on a base with node 22+,
# mkfs.ext4, mount and umount (deploy/base-from-host.sh makes one from this Debian host, or a
# debootstrap'd root filesystem: docs/operating.md, "A worker image"). No public registry needed.
#   deploy/stage-worker.sh /tmp/caisson-stage
#   docker build -f deploy/worker.Dockerfile --build-arg BASE_IMAGE=caisson-base:host -t caisson-worker /tmp/caisson-stage
# Run it beside the engine it drives, as root, privileged (it formats and loop-mounts each action's
# disk), with the engine's socket, registry credentials (DOCKER_CONFIG) and the state folder at the
# same path as on the host, mounted rshared (on a shared host mount) so the engine sees the disks
# mounted inside; without --privileged, set CAISSON_DISKS_DIR=off (anonymous volumes, no size limit):
#   docker run -d --name caisson-worker --privileged --network host --env-file /etc/caisson/worker.env \
#     -e CAISSON_HOST="$(hostname)" -v /var/run/docker.sock:/var/run/docker.sock \
#     -v /etc/caisson/docker:/etc/caisson/docker:ro -e DOCKER_CONFIG=/etc/caisson/docker \
#     -v /var/lib/caisson:/var/lib/caisson:rshared caisson-worker
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
WORKDIR /opt/caisson
COPY package.json ./
COPY node_modules ./node_modules
COPY build ./build
ENV NODE_ENV=production
# SIGTERM drains the host first (CAISSON_DRAIN_SECONDS): give `docker stop` a --time to match.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/opt/caisson/build/cli/main.js"]
CMD ["worker"]
