// Certificates for a Docker engine behind mutual TLS, made with the `openssl` CLI (execFile, never a
// shell): a CA, a server certificate for 127.0.0.1 and a client certificate, laid out the way the
// Docker CLI and dockerode read them from DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One DOCKER_CERT_PATH-style folder: ca.pem, cert.pem, key.pem. */
export interface CertDir {
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

export interface DockerTlsCerts {
  /** The CA's certificate and key (the key signs; only tests that mint more certificates need it). */
  ca: { cert: string; key: string };
  /** For dockerd: --tlscacert=<ca> --tlscert=<cert> --tlskey=<key>; the certificate names IP:127.0.0.1. */
  server: CertDir;
  /** For clients: DOCKER_CERT_PATH=<dir>, DOCKER_TLS_VERIFY=1; the certificate is for clientAuth. */
  client: CertDir;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** A P-256 key (fast to make, accepted by Go's TLS stack and Node's), readable by its owner only. */
async function newKey(path: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
  await chmod(path, 0o600);
}

async function signed(
  dir: string,
  ca: { cert: string; key: string },
  subject: string,
  extensions: string[],
  days: number,
): Promise<{ cert: string; key: string }> {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const csr = join(dir, 'req.csr');
  const ext = join(dir, 'ext.cnf');
  await newKey(key);
  await openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  await writeFile(ext, extensions.join('\n') + '\n');
  await openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    `0x01${randomBytes(15).toString('hex')}` /* positive, unique */,
    '-days',
    String(days),
    '-sha256',
    '-extfile',
    ext,
    '-out',
    cert,
  ]);
  await rm(csr);
  await rm(ext);
  return { cert, key };
}

/** A CA of its own in `<dir>/ca` (ca.pem, ca-key.pem). */
export async function makeCa(dir: string, name = 'caisson test CA', days = 2): Promise<{ cert: string; key: string }> {
  await mkdir(dir, { recursive: true });
  const key = join(dir, 'ca-key.pem');
  const cert = join(dir, 'ca.pem');
  await newKey(key);
  await openssl([
    'req',
    '-new',
    '-x509',
    '-key',
    key,
    '-subj',
    `/CN=${name}`,
    '-days',
    String(days),
    '-sha256',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** A client certificate (extendedKeyUsage clientAuth) signed by `ca`, in `dir` with a copy of ca.pem. */
export async function makeClientCert(
  dir: string,
  ca: { cert: string; key: string },
  caPem: string,
  name = 'caisson-client',
  days = 2,
): Promise<CertDir> {
  await mkdir(dir, { recursive: true });
  const { cert, key } = await signed(
    dir,
    ca,
    `/CN=${name}`,
    ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'],
    days,
  );
  await writeFile(join(dir, 'ca.pem'), caPem);
  return { dir, ca: join(dir, 'ca.pem'), cert, key };
}

/**
 * A CA, a server certificate (subjectAltName IP:127.0.0.1, serverAuth) and a client certificate
 * (clientAuth), under `dir`: `ca/`, `server/` and `client/` (the client folder is a DOCKER_CERT_PATH).
 */
export async function makeDockerTlsCerts(dir: string, days = 2): Promise<DockerTlsCerts> {
  const ca = await makeCa(join(dir, 'ca'), 'caisson test CA', days);
  const caPem = await readFile(ca.cert, 'utf8');

  const serverDir = join(dir, 'server');
  await mkdir(serverDir, { recursive: true });
  const server = await signed(
    serverDir,
    ca,
    '/CN=127.0.0.1',
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1',
    ],
    days,
  );
  await writeFile(join(serverDir, 'ca.pem'), caPem);

  const client = await makeClientCert(join(dir, 'client'), ca, caPem, 'caisson-client', days);
  return { ca, server: { dir: serverDir, ca: join(serverDir, 'ca.pem'), ...server }, client };
}
