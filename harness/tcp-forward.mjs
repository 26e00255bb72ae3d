#!/usr/bin/env node
// Forwards TCP ports, byte for byte: `node tcp-forward.mjs LISTEN_HOST:PORT=TARGET_HOST:PORT ...`.
// Prints "forwarding" once every listener is up. The test hosts in network namespaces use two: one
// in the root namespace listening on the veth address in front of the services on loopback, one in
// the host's namespace giving them back on that namespace's loopback, so a worker and its engine
// there use the same addresses as everywhere else (127.0.0.1:7233, :9000, :5000).
import { createConnection, createServer } from 'node:net';

const pairs = process.argv.slice(2).map((arg) => {
  const [from, to] = arg.split('=');
  const split = (hp) => ({ host: hp.slice(0, hp.lastIndexOf(':')), port: Number(hp.slice(hp.lastIndexOf(':') + 1)) });
  return { from: split(from), to: split(to) };
});

await Promise.all(
  pairs.map(
    ({ from, to }) =>
      new Promise((resolve, reject) => {
        const server = createServer((client) => {
          const upstream = createConnection(to);
          client.pipe(upstream).pipe(client);
          const close = () => {
            client.destroy();
            upstream.destroy();
          };
          client.on('error', close);
          upstream.on('error', close);
          client.on('close', close);
          upstream.on('close', close);
        });
        server.once('error', reject);
        server.listen(from.port, from.host, resolve);
      }),
  ),
);
process.stdout.write('forwarding\n');
process.on('SIGTERM', () => process.exit(0));
