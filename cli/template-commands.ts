// `caisson template register FILE | list | show NAME[@VERSION]`: the fleet's action templates
// (common/templates/templates.ts), kept in S3. Registering needs the registry (the image's tag is pinned to
// its digest, with the credentials of `docker login`) and write access to the bucket.
import type { Command } from 'commander';
import { readDataFile } from '../common/text/data-file.js';
import type { TemplateStore } from '../common/templates/templates.js';
import { out } from './connect.js';
import { examples } from './help-text.js';
import { addFormatOptions, formatOf, renderList, type Columns } from './output-format.js';

/** Templates live in S3: no Temporal connection is needed for these (the SDKs load on use). */
async function withStore<T>(fn: (store: TemplateStore) => Promise<T>): Promise<T> {
  const { logStoreFromEnv } = await import('../client/index.js');
  const { templateStore } = await import('../common/templates/templates.js');
  const s3 = logStoreFromEnv();
  try {
    return await fn(templateStore(s3));
  } finally {
    s3?.destroy();
  }
}

type TemplateRow = Awaited<ReturnType<TemplateStore['list']>>[number];

const TEMPLATE_COLUMNS: Columns<TemplateRow> = {
  header: ['TEMPLATE', 'LATEST', 'VERSIONS', 'DESCRIPTION'],
  row: (r) => [r.name, r.latest, r.versions.join(','), (r.description ?? '').split('\n')[0]!],
  name: (r) => r.name,
};

export function templateCommand(program: Command): void {
  const template = program
    .command('template')
    .description('versioned action definitions: image pinned to its digest, input and output schemas')
    .addHelpText(
      'after',
      examples('caisson template register greeting.yaml', 'caisson run greeting --input \'{"name": "Ada"}\''),
    );
  template
    .command('register')
    .description('store a template definition (YAML or JSON) as a new version')
    .argument('<file>', 'the definition')
    .option('--json', 'the stored template as JSON')
    .addHelpText('after', examples('caisson template register examples/templates/greeting.yaml'))
    .action((file: string, opts: { json?: boolean }) =>
      withStore(async (store) => {
        const { registerTemplate } = await import('../common/templates/templates.js');
        const stored = await registerTemplate(store, await readDataFile(file), process.env.DOCKER_CONFIG);
        if (opts.json) out(JSON.stringify(stored, null, 2));
        else
          out(
            `registered ${stored.name}@${stored.version}: ${String(stored.spec.image)}${stored.registeredImage ? ` (was ${stored.registeredImage})` : ''}`,
          );
      }),
    );
  addFormatOptions(template.command('list').alias('ls').description('every template, its latest and all versions'))
    .addHelpText('after', examples('caisson template list', 'caisson template list -o yaml'))
    .action((opts: { output?: string; json?: boolean }) =>
      withStore(async (store) => renderList(await store.list(), formatOf(opts), TEMPLATE_COLUMNS).forEach(out)),
    );
  template
    .command('show')
    .description('one template version: image, overrides, spec and schemas')
    .argument('<name>', 'NAME or NAME@VERSION (the latest without a version)')
    .option('--json', 'the template as JSON')
    .addHelpText('after', examples('caisson template show greeting', 'caisson template show greeting@1.0.0 --json'))
    .action((name: string, opts: { json?: boolean }) =>
      withStore(async (store) => {
        const { findTemplate } = await import('../common/templates/templates.js');
        const template = await findTemplate(store, name);
        if (opts.json) return out(JSON.stringify(template, null, 2));
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
      }),
    );
}
