// `caisson template register FILE | list | show NAME[@VERSION]`: the fleet's action templates
// (common/templates/templates.ts), kept in S3. Registering needs the registry (the image's tag is pinned to
// its digest, with the credentials of `docker login`) and write access to the bucket.
import { parseArgs } from 'node:util';
import { logStoreFromEnv } from '../client/index.js';
import { readDataFile } from '../common/text/data-file.js';
import { findTemplate, registerTemplate, templateStore } from '../common/templates/templates.js';
import { UsageError } from './spec-from-flags.js';

export async function templateCommand(argv: string[], out: (text: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { json: { type: 'boolean' } },
  });
  // Templates live in S3: no Temporal connection is needed for these.
  const s3 = logStoreFromEnv();
  try {
    const store = templateStore(s3);
    switch (sub) {
      case 'register': {
        if (positionals.length !== 1) throw new UsageError('template register takes one FILE (YAML or JSON)');
        const stored = await registerTemplate(store, await readDataFile(positionals[0]!), process.env.DOCKER_CONFIG);
        if (values.json) out(JSON.stringify(stored, null, 2));
        else
          out(
            `registered ${stored.name}@${stored.version}: ${String(stored.spec.image)}${stored.registeredImage ? ` (was ${stored.registeredImage})` : ''}`,
          );
        return 0;
      }
      case 'list': {
        if (positionals.length) throw new UsageError('template list takes no arguments');
        const rows = await store.list();
        if (values.json) out(JSON.stringify(rows, null, 2));
        else {
          out(['TEMPLATE', 'LATEST', 'VERSIONS', 'DESCRIPTION'].join('\t'));
          for (const r of rows)
            out([r.name, r.latest, r.versions.join(','), (r.description ?? '').split('\n')[0]].join('\t'));
        }
        return 0;
      }
      case 'show': {
        if (positionals.length !== 1) throw new UsageError('template show takes NAME or NAME@VERSION');
        const template = await findTemplate(store, positionals[0]!);
        if (values.json) out(JSON.stringify(template, null, 2));
        else {
          const versions = await store.versions(template.name);
          out(`${template.name}@${template.version}${template.description ? `  ${template.description}` : ''}`);
          out(
            `  image      ${String(template.spec.image)}${template.registeredImage ? ` (registered as ${template.registeredImage})` : ''}`,
          );
          out(`  versions   ${versions.join(', ')}`);
          out(`  overrides  ${template.overrides.join(', ') || '-'}`);
          out(`  registered ${template.registeredAt}`);
          out(`  spec       ${JSON.stringify(template.spec)}`);
          if (template.inputSchema !== undefined) out(`  input      ${JSON.stringify(template.inputSchema)}`);
          if (template.outputSchema !== undefined) out(`  output     ${JSON.stringify(template.outputSchema)}`);
        }
        return 0;
      }
      default:
        throw new UsageError(`template ${sub ?? ''}: use register FILE, list or show NAME[@VERSION]`);
    }
  } finally {
    s3?.destroy();
  }
}
