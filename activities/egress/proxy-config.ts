// What the egress proxy (Debian's tinyproxy) is told: a configuration and a filter file per action.
// Pure text, so that what the proxy allows can be read and tested without starting one. The filter
// matches the name the client asked for (fnmatch, default deny): an IP address, "localhost" or any
// name off the list is refused before the proxy resolves or connects to anything.

/** The one port CONNECT may reach: TLS to a web server. Plain HTTP goes through the filter alike. */
export const CONNECT_PORT = 443;

/** The filter file: one fnmatch pattern a line ("*.huggingface.co" is any name under it). */
export const filterText = (allow: readonly string[]): string => `${allow.join('\n')}\n`;

export interface ProxyListen {
  /** The address containers reach it on: the egress network's gateway on this host. */
  address: string;
  port: number;
  /** The clients it serves: the egress network's subnet. */
  clients: string;
  filterFile: string;
}

/**
 * The configuration: foreground logging of each connection (the worker names the action in its own
 * log), no identity headers, and the filter as the only way out. It runs as nobody from the start
 * (egress-proxies.ts), so it names no user to switch to.
 */
export function tinyproxyConfig(listen: ProxyListen): string {
  return [
    `Port ${listen.port}`,
    `Listen ${listen.address}`,
    `Allow ${listen.clients}`,
    'Timeout 600',
    'MaxClients 100',
    'LogLevel Connect',
    'DisableViaHeader Yes',
    `Filter "${listen.filterFile}"`,
    'FilterType fnmatch',
    'FilterDefaultDeny Yes',
    `ConnectPort ${CONNECT_PORT}`,
    '',
  ].join('\n');
}
