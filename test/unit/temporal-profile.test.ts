// Where the connection settings come from, in order: explicit settings, Caisson's TEMPORAL_*
// variables, Temporal's standard variables, the Temporal profiles file, the defaults. Each case
// reads a real TOML file in a temporary folder; an environment without HOME has no default file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionOptions, resolveTemporalSettings } from '../../common/connection/temporal-connection.js';
import { loadWorkerConfig } from '../../worker/config.js';

const dir = mkdtempSync(join(tmpdir(), 'caisson-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET_KEY = 'sk-profile-secret-0123456789';

function profilesFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const file = profilesFile(
  'temporal.toml',
  `
[profile.default]
address = "profile.example:7233"
namespace = "from-profile"
api_key = "${SECRET_KEY}"

[profile.default.tls]
server_name = "frontend.example"
client_cert_path = "/profile/client.pem"
client_key_path = "/profile/client.key"

[profile.default.grpc_meta]
x-team = "blue"

[profile.staging]
address = "staging.example:7233"

[profile.staging.tls]
disabled = true

[profile.named]
api_key = "k"

[profile.named.tls]
server_name = "frontend.example"

[profile.named.grpc_meta]
x-team = "blue"
`,
);

describe('Temporal connection settings', () => {
  it('default to 127.0.0.1:7233 and the default namespace with no file and no variable', () => {
    expect(resolveTemporalSettings({}, {})).toEqual({ address: '127.0.0.1:7233', namespace: 'default' });
  });

  it("take the profile file's default profile, and another one by TEMPORAL_PROFILE", () => {
    expect(resolveTemporalSettings({}, { TEMPORAL_CONFIG_FILE: file })).toEqual({
      address: 'profile.example:7233',
      namespace: 'from-profile',
      apiKey: SECRET_KEY,
      tls: true,
      tlsServerName: 'frontend.example',
      tlsCert: '/profile/client.pem',
      tlsKey: '/profile/client.key',
      grpcMetadata: { 'x-team': 'blue' },
    });
    expect(resolveTemporalSettings({}, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' })).toEqual({
      address: 'staging.example:7233',
      namespace: 'default',
      tls: false,
    });
  });

  it('put standard variables over the profile, Caisson variables over those, explicit settings over all', () => {
    const env = {
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_TLS_CLIENT_CERT_PATH: '/standard/client.pem',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/standard/ca.pem',
      TEMPORAL_TLS_CA: '/caisson/ca.pem',
      TEMPORAL_NAMESPACE: 'from-env',
      // Empty, as an unset variable: the profile's address stays.
      TEMPORAL_ADDRESS: '',
    };
    expect(resolveTemporalSettings({}, env)).toMatchObject({
      address: 'profile.example:7233',
      namespace: 'from-env',
      tlsCert: '/standard/client.pem',
      tlsKey: '/profile/client.key',
      tlsCa: '/caisson/ca.pem',
    });
    expect(resolveTemporalSettings({ namespace: 'explicit', tlsCert: '/explicit.pem' }, env)).toMatchObject({
      namespace: 'explicit',
      tlsCert: '/explicit.pem',
    });
  });

  it("turn the profile's TLS switch, server name and headers into connection options", () => {
    const staging = connectionOptions(
      resolveTemporalSettings({ apiKey: 'k' }, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'staging' }),
    );
    // TLS disabled by the profile stays off, though an API key alone would turn it on.
    expect(staging).toMatchObject({ address: 'staging.example:7233', tls: false, apiKey: 'k' });
    const named = connectionOptions(
      resolveTemporalSettings({}, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'named' }),
    );
    expect(named.tls).toMatchObject({ serverNameOverride: 'frontend.example' });
    expect(named.metadata).toEqual({ 'x-team': 'blue' });
  });

  it('fail on a broken profiles file without quoting it, on one named but absent, and on a profile it lacks', () => {
    const broken = profilesFile('broken.toml', `[profile.default]\napi_key = "${SECRET_KEY}\n`);
    let message = '';
    try {
      resolveTemporalSettings({}, { TEMPORAL_CONFIG_FILE: broken });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/broken\.toml is not valid TOML \(line \d+/);
    expect(message).not.toContain(SECRET_KEY);
    expect(() => resolveTemporalSettings({}, { TEMPORAL_CONFIG_FILE: join(dir, 'absent.toml') })).toThrow(
      /TEMPORAL_CONFIG_FILE .*absent\.toml does not exist/,
    );
    expect(() => resolveTemporalSettings({}, { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' })).toThrow(
      /Profile 'nope' not found/,
    );
  });

  it("give the worker the profile's address and namespace where its variables are unset", () => {
    const config = loadWorkerConfig({ CAISSON_ARTIFACTS_BUCKET: 'artifacts', TEMPORAL_CONFIG_FILE: file });
    expect(config).toMatchObject({ TEMPORAL_ADDRESS: 'profile.example:7233', TEMPORAL_NAMESPACE: 'from-profile' });
    const own = loadWorkerConfig({
      CAISSON_ARTIFACTS_BUCKET: 'artifacts',
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_ADDRESS: 'own.example:7233',
    });
    expect(own.TEMPORAL_ADDRESS).toBe('own.example:7233');
  });
});
