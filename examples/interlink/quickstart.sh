#!/usr/bin/env bash
# A pod through Caisson's interLink plugin API with nothing but curl: create it, follow its status
# until the container has terminated, read its log, delete it. With "cancel", the pod is deleted
# while its container still sleeps, and the status then shows it terminated as Canceled.
#   usage: quickstart.sh PLUGIN_URL IMAGE [finish|cancel]
#   CAISSON_INTERLINK_TOKEN: the plugin's bearer token, when it needs one.
set -euo pipefail
url=${1:?plugin URL, e.g. http://127.0.0.1:4000}
image=${2:?image, e.g. registry.example/busybox:1}
mode=${3:-finish}
uid=$(cat /proc/sys/kernel/random/uuid)
if [ "$mode" = cancel ]; then script='sleep 600; echo FINISHED'; else script='sleep 2; echo FINISHED'; fi
auth=()
if [ -n "${CAISSON_INTERLINK_TOKEN:-}" ]; then auth=(-H "Authorization: Bearer $CAISSON_INTERLINK_TOKEN"); fi
call() { curl -fsS --max-time 30 "${auth[@]}" -H 'Content-Type: application/json' "$@"; }

pod='{"metadata": {"name": "test-pod", "namespace": "default", "uid": "'"$uid"'"},
      "spec": {"containers": [{"name": "busyecho", "image": "'"$image"'", "command": ["sh", "-c"],
                               "args": ["'"$script"'"], "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}}}]}}'

echo "create: $(call -X POST "$url/create" -d '{"pod": '"$pod"', "container": [{"name": "busyecho"}]}')"

# The state of the pod's one container: waiting, running or terminated (a bounded wait: 3 minutes).
state() { call -X GET "$url/status" -d "[$pod]" | grep -o '"state":{"[a-z]*"' | cut -d'"' -f4; }
wait_for() {
  for _ in $(seq 1 360); do
    now=$(state)
    if [ "$now" = "$1" ]; then return 0; fi
    sleep 0.5
  done
  echo "the container did not reach $1 (last: $now)" >&2
  return 1
}

wait_for running
echo "status: running"
if [ "$mode" = cancel ]; then echo "delete: $(call -X POST "$url/delete" -d "$pod")"; fi
wait_for terminated
echo "status: $(call -X GET "$url/status" -d "[$pod]" | grep -o '"terminated":{[^}]*}')"
logs='{"namespace": "default", "pod_uid": "'"$uid"'", "pod_name": "test-pod", "container_name": "busyecho", "opts": {"timestamps": false}}'
echo "logs:"
call -X GET "$url/getLogs" -d "$logs"
if [ "$mode" != cancel ]; then echo "delete: $(call -X POST "$url/delete" -d "$pod")"; fi
echo "uid: $uid"
