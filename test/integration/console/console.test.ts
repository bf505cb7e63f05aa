/**
 * The web console in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no
 * browser is downloaded) against a whole switch launched as `bcss start` launches it, on its own topic
 * prefix and the real stack: each role logs in; the health page is green; requests show in the traffic
 * and live-audit pages; a person report lists exactly that person's exchanges; an operator sees masked
 * NISS and is refused the person report (403, audited); a dead letter is re-sent once, audited; the
 * console's lookups are in the audit trail. Screenshots of each page go to docs/console/.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchSwitch, type LaunchedSwitch } from '../../../src/app/launch.js';
import { createRuntime, type Runtime } from '../../../src/app/runtime.js';
import { loadSettings } from '../../../src/app/settings.js';
import { searchAudit } from '../../../src/audit/audit-search.js';
import { createExchangeClient, type ExchangeClient } from '../../../src/client/exchange-client.js';
import { PROJECT_ROOT } from '../../../src/config/project-paths.js';
import { hashPassword } from '../../../src/console/users.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { makeNiss } from '../../../src/sources/synthetic-population.js';
import { principalConnection } from '../../../src/stack/principal-connection.js';
import { removeSwitchLeftovers } from '../../support/prefix-cleanup.js';
import { uniqueName } from '../../support/kafka-helpers.js';
import { testStack } from '../../support/stack-context.js';

const SHOTS = join(PROJECT_ROOT, 'docs', 'console');
const PASSWORDS = { operator: 'op-pass-1', dpo: 'dpo-pass-1', observer: 'obs-pass-1' } as const;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const stack = testStack();
const prefix = uniqueName('console');
// A person no other test asks about: the report must list exactly this test's exchanges.
const niss = makeNiss('1961-04-17', 100 + Math.floor(Math.random() * 800));
let dir: string;
let runtime: Runtime;
let launched: LaunchedSwitch;
let browser: Browser;
let base: string;
let vaph: ExchangeClient;
const tickets: string[] = [];

async function logIn(role: keyof typeof PASSWORDS): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${base}/login`);
  await page.fill('input[name=user]', role);
  await page.fill('input[name=password]', PASSWORDS[role]);
  await page.click('button');
  await page.waitForURL(`${base}/health`);
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe.skipIf(stack.mode !== 'local' || stack.stackDir === null)('the web console in a browser', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bcss-console-'));
    const usersFile = join(dir, 'users.json');
    writeFileSync(usersFile, JSON.stringify({ users: Object.entries(PASSWORDS).map(([role, pw]) => ({ name: role, role, password: hashPassword(pw) })), cookieSecret: 'a'.repeat(40) }));
    const settings = loadSettings({ BCSS_TOPIC_PREFIX: prefix, BCSS_STACK_DIR: stack.stackDir as string, BCSS_HTTP_PORT: 'off', BCSS_CONSOLE_USERS_FILE: usersFile, BCSS_SOURCE_TIMEOUT_MS: '5000' });
    runtime = await createRuntime({ settings: { ...settings, console: { ...settings.console, port: 0 } }, logger: silentLogger });
    launched = await launchSwitch(runtime, { simulators: true, sampleDirectory: false, acl: true, sealer: true });
    base = `http://127.0.0.1:${launched.consolePort}`;
    vaph = await createExchangeClient({ connection: principalConnection('vaph', { settings }), institution: 'vaph', topics: runtime.topics, codec: runtime.codec, logger: silentLogger, defaultTimeoutMs: 20_000 });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await vaph?.close();
    await launched?.stop();
    await removeSwitchLeftovers(stack, prefix).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('refuses a wrong password, and shows a green health page to an observer', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/health`);
    expect(page.url()).toBe(`${base}/login`);
    await page.fill('input[name=user]', 'observer');
    await page.fill('input[name=password]', 'wrong');
    await page.click('button');
    await expect(page.locator('[role=alert]').textContent()).resolves.toContain('wrong password');
    const observer = await logIn('observer');
    for (let i = 0; i < 20 && (await observer.locator('#overall.ok').count()) === 0; i += 1) {
      await new Promise((r) => setTimeout(r, 1_000));
      await observer.reload();
    }
    await expect(observer.locator('#overall').textContent()).resolves.toContain('All checks OK');
    await shot(observer, 'health');
    await observer.close();
  }, 40_000);

  it('shows requests in the live audit tail (masked for an operator) and in the traffic page', async () => {
    const operator = await logIn('operator');
    await operator.goto(`${base}/tail?institution=vaph`);
    await operator.locator('[data-live=true]').waitFor({ timeout: 20_000 });
    for (const period of ['2024Q1..2024Q4', '2023Q1..2023Q4']) {
      const reply = await vaph.request({ service: 'dmfa', subjectNiss: niss, period });
      tickets.push(reply.ticket as string);
    }
    await operator.locator(`#tail-rows tr[data-ticket="${tickets[1]}"]`).first().waitFor({ timeout: 15_000 });
    const cells = await operator.locator('#tail-rows td.niss').allTextContents();
    expect(cells.length).toBeGreaterThanOrEqual(2);
    for (const cell of cells) expect(cell).toMatch(/^\*{8}\d{3}$/);
    expect(await operator.content()).not.toContain(niss);
    await shot(operator, 'tail');
    await operator.goto(`${base}/traffic`);
    await operator.locator('tr[data-series^="dmfa "]').first().waitFor({ timeout: 15_000 });
    await shot(operator, 'traffic');
    // The operator may not open the person report.
    const refused = await operator.goto(`${base}/person?niss=${niss}`);
    expect(refused?.status()).toBe(403);
    await operator.close();
  }, 60_000);

  it('gives the DPO the report of exactly this person, with CSV, and the exchange chain', async () => {
    const dpo = await logIn('dpo');
    await dpo.goto(`${base}/person?niss=${niss}`);
    const shown = await dpo.locator('tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.ticket));
    expect([...new Set(shown.filter((t) => t && t.startsWith('T')))].sort()).toEqual([...tickets].sort());
    await expect(dpo.locator('#integrity').textContent()).resolves.toMatch(/Chain verified|no seal yet/);
    await shot(dpo, 'person-report');
    const csv = await dpo.evaluate(async (url) => (await fetch(url)).text(), `/person.csv?niss=${niss}`);
    for (const ticket of tickets) expect(csv).toContain(ticket);
    await dpo.goto(`${base}/exchange?ticket=${tickets[0]}`);
    await expect(dpo.locator('main').textContent()).resolves.toContain('Decision:');
    expect(await dpo.content()).toContain(niss);
    await shot(dpo, 'exchange');
    await dpo.goto(`${base}/deliberations`);
    await dpo.locator('#drift').waitFor({ timeout: 20_000 });
    await shot(dpo, 'access-rights');
    await dpo.close();
    // The lookups are in the audit trail, under the person: the operator's refused one too.
    const trail = await searchAudit({ client: runtime.clientFor('auditor'), codec: runtime.codec, topics: runtime.topics, niss });
    const lookups = trail.records.filter((r) => r.event === 'CONSOLE_LOOKUP').map((r) => `${r.requester} ${r.purpose} ${r.outcome}`);
    expect(lookups).toEqual(expect.arrayContaining(['console:operator operator: person report DENIED', 'console:dpo dpo: person report OK', 'console:dpo dpo: person report csv OK']));
  }, 60_000);

  it('re-sends a dead letter once, with its audit record', async () => {
    // An undecodable message on a source's replies topic is dead-lettered by the reply pipeline.
    const source = await runtime.clientFor('source-onss').producer();
    await source.send(runtime.topics.sourceReplies('onss'), [{ key: 'x', value: Buffer.from('not avro') }]);
    await source.disconnect();
    const operator = await logIn('operator');
    for (let i = 0; i < 20 && (await operator.locator('tr[data-dead-letter] form').count()) === 0; i += 1) {
      await new Promise((r) => setTimeout(r, 1_000));
      await operator.goto(`${base}/dead-letters`);
    }
    const row = operator.locator('tr[data-dead-letter]').first();
    const id = (await row.getAttribute('data-dead-letter')) as string;
    await shot(operator, 'dead-letters');
    operator.on('dialog', (dialog) => void dialog.accept());
    await row.locator('button').click();
    await operator.waitForURL(/notice=/);
    await expect(operator.locator(`tr[data-dead-letter="${id}"]`).first().textContent()).resolves.toContain('redriven');
    // A second POST (a double click, a replayed form) is refused.
    const csrf = await operator.locator('input[name=_csrf]').first().inputValue();
    const again = await operator.evaluate(
      async ([url, token]) => (await fetch(url as string, { method: 'POST', body: new URLSearchParams({ _csrf: token as string }) })).status,
      [`/dead-letters/${id}/redrive`, csrf],
    );
    expect(again).toBe(409);
    const noToken = await operator.evaluate(async (url) => (await fetch(url, { method: 'POST', body: new URLSearchParams({}) })).status, `/dead-letters/${id}/redrive`);
    expect(noToken).toBe(403);
    await operator.close();
    const trail = await searchAudit({ client: runtime.clientFor('auditor'), codec: runtime.codec, topics: runtime.topics, niss: 'console:operator' });
    expect(trail.records.filter((r) => r.event === 'DEAD_LETTER_REDRIVEN' && r.ticket === id).map((r) => r.outcome)).toEqual(['REDRIVEN']);
  }, 60_000);
});
