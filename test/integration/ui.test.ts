// The Temporal UI tells an action's story: a real headless Chromium finds a FAILED action by its
// search attribute and sees its status, summary and result, the failure's message decoded by the
// codec server. The screenshot is kept as an artifact.
import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionsClient } from '../../client/index.js';
import { busybox, connectClient } from '../support/actions.js';
import { env } from '../support/env.js';

let client: ActionsClient;
let browser: Browser;
beforeAll(async () => {
  client = await connectClient();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    // No GPU, no sandbox as root, and none of the background traffic a closed network refuses.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await client?.close();
});

describe('the Temporal UI', () => {
  it('finds a FAILED action by ActionStatus and shows its status, summary and result', async () => {
    const handle = await client.start(
      busybox('echo "computing"; echo "bad input: row 12" >&2; exit 9', { source: 'ui-test' }),
    );
    const result = await handle.result();
    expect(result.status).toBe('FAILED');
    const ui = env('TEMPORAL_UI_URL');
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      const query = encodeURIComponent(`ActionStatus = 'FAILED' AND WorkflowId = '${handle.actionId}'`);
      await page.goto(`${ui}/namespaces/default/workflows?query=${query}`);
      // The action's own row, found by the search attribute, shows the status Failed.
      const row = page.getByTestId('workflows-summary-configurable-table-row').filter({ hasText: handle.actionId });
      await row.first().waitFor({ timeout: 30_000 });
      expect(await row.count()).toBe(1);
      const cells = (await row.locator('td').allInnerTexts()).map((t) => t.trim());
      expect(cells).toContain('Failed');
      expect(cells).toContain('runAction');

      await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(handle.actionId)}`);
      // The newest event closes the execution as failed. Its message is encrypted in history (it may
      // quote the container's output): the row says only "Encoded failure", and the Result panel
      // shows the message as the codec server decoded it.
      const closing = page.getByTestId('event-summary-row').first();
      await closing.getByText('Workflow Execution Failed').waitFor({ timeout: 30_000 });
      await page.getByText('"exited 9"').first().waitFor({ timeout: 30_000 });
      expect(await closing.innerText()).not.toContain('exited 9');
      const text = await page.locator('body').innerText();
      expect(text).toMatch(/"encodedAttributes": \{\s*"message": "exited 9"/);
      expect(text).toContain('sh -c echo "computing"'); // the summary: image and command
      mkdirSync('test-results', { recursive: true });
      await page.screenshot({ path: 'test-results/ui-failed-action.png', fullPage: false });
    } finally {
      await page.close();
    }
  });
});
