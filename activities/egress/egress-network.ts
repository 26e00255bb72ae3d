// The network egress containers are attached to: an internal Docker network (the engine routes
// nothing out of it) whose gateway on this host is where the egress proxy listens. The engine runs
// without iptables here, so the host itself stops routing from its bridge: a container reaches the
// proxy and the host's own addresses, never a machine beyond them.
import { writeFile } from 'node:fs/promises';
import type Docker from 'dockerode';

/** Shared by every worker of the engine: one network, each worker's proxies on ports of their own. */
export const EGRESS_NETWORK = 'caisson-egress';
/** The bridge's name on the host (at most 15 characters), for its forwarding switch. */
const EGRESS_BRIDGE = 'cs-egress';
/** From the range reserved for network tests (198.18.0.0/15): no real address is hidden by it. */
const EGRESS_SUBNET = '198.19.255.0/24';
const EGRESS_GATEWAY = '198.19.255.1';

export interface EgressNetwork {
  name: string;
  gateway: string;
  subnet: string;
}

/** Makes the network unless the engine has it (another worker of the engine made it), then closes its way out. */
export async function ensureEgressNetwork(docker: Docker): Promise<EgressNetwork> {
  await docker
    .createNetwork({
      Name: EGRESS_NETWORK,
      Driver: 'bridge',
      Internal: true,
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: EGRESS_SUBNET, Gateway: EGRESS_GATEWAY }] },
      Options: { 'com.docker.network.bridge.name': EGRESS_BRIDGE },
    })
    .catch((err: { statusCode?: number }) => {
      if (err.statusCode !== 409) throw err;
    });
  const info = (await docker.getNetwork(EGRESS_NETWORK).inspect()) as {
    Internal?: boolean;
    IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] };
  };
  const config = info.IPAM?.Config?.[0];
  if (!info.Internal || config?.Subnet !== EGRESS_SUBNET || config.Gateway !== EGRESS_GATEWAY)
    throw new Error(
      `the engine's network ${EGRESS_NETWORK} is not the internal ${EGRESS_SUBNET} network egress needs: remove it (docker network rm ${EGRESS_NETWORK})`,
    );
  // Without iptables nothing else stops the host routing a container's packets to the world.
  await writeFile(`/proc/sys/net/ipv4/conf/${EGRESS_BRIDGE}/forwarding`, '0');
  return { name: EGRESS_NETWORK, gateway: EGRESS_GATEWAY, subnet: EGRESS_SUBNET };
}
