/**
 * The web console in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no
 * browser is downloaded) against a whole switch launched as `bcss start` launches it, with its sample
 * directory, on its own topic prefix and the real stack: each role logs in; the health page is green;
 * refused requests and one MAGDA-for-VAPH request delivered under 10/012 show in the traffic and
 * live-audit pages; the exchange page finds that exchange by requestId (each match with its requester)
 * and shows its whole chain; a person report lists exactly that person's exchanges, and its evidence
 * bundle verifies independently; an operator sees masked NISS and is refused the person report (403,
 * audited); an observer and a DPO may not redrive; a dead letter is re-sent once, audited; the
 * console's lookups are in the audit trail. Screenshots of each page go to docs/console/.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchSwitch, type LaunchedSwitch } from '../../../src/app/launch.js';
import { createRuntime, type Runtime } from '../../../src/app/runtime.js';
import { loadSettings } from '../../../src/app/settings.js';
import { searchAudit } from '../../../src/audit/audit-search.js';
import { createExchangeClient, type ExchangeClient, type ExchangeOk } from '../../../src/client/exchange-client.js';
import { PROJECT_ROOT } from '../../../src/config/project-paths.js';
import { hashPassword } from '../../../src/console/users.js';
import { silentLogger } from '../../../src/logging/logger.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import { principalConnection } from '../../../src/stack/principal-connection.js';
import { verifyBundleIndependently } from '../../support/independent-audit-verifier.js';
import { removeSwitchLeftovers } from '../../support/prefix-cleanup.js';
import { uniqueName } from '../../support/kafka-helpers.js';
import { testStack } from '../../support/stack-context.js';

const SHOTS = join(PROJECT_ROOT, 'docs', 'console');
const PASSWORDS = { operator: 'op-pass-1', dpo: 'dpo-pass-1', observer: 'obs-pass-1' } as const;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const stack = testStack();
const prefix = uniqueName('console');
// The personal assistant VAPH integrated (the sample directory; 10/012 §9), asked about on this test's
// own prefix only: the report must list exactly this test's exchanges.
const niss = SIMULATED.assistantOfVaph;
let dir: string;
let runtime: Runtime;
let launched: LaunchedSwitch;
let browser: Browser;
let base: string;
let vaph: ExchangeClient;
let magda: ExchangeClient;
const tickets: string[] = [];
/** MAGDA's request for VAPH, answered OK (as in test/integration/exchange/delivered-ok.test.ts). */
let delivered: ExchangeOk;

async function logIn(role: keyof typeof PASSWORDS): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${base}/login`);
  await page.fill('input[name=user]', role);
  await page.fill('input[name=password]', PASSWORDS[role]);
  await page.click('button');
  await page.waitForURL(`${base}/health`);
  return page;
}

/** The page down to at most 1,000 px: a PNG under 300 KB, not a megabyte. */
async function shot(page: Page, name: string): Promise<void> {
  const height = await page.evaluate<number>('document.documentElement.scrollHeight');
  const width = page.viewportSize()?.width ?? 1280;
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, clip: { x: 0, y: 0, width, height: Math.min(height, 1000) } });
}

/** A request with the session's cookie, from the page itself: the status the console answers. */
function statusOf(page: Page, method: 'GET' | 'POST', url: string, form: Record<string, string> = {}): Promise<number> {
  return page.evaluate(
    async ([m, u, f]) => (await fetch(u as string, m === 'POST' ? { method: 'POST', body: new URLSearchParams(f as Record<string, string>) } : {})).status,
    [method, url, form] as const,
  );
}


describe.skipIf(stack.mode !== 'local' || stack.stackDir === null)('the web console in a browser', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bcss-console-'));
    const usersFile = join(dir, 'users.json');
    const users = Object.entries(PASSWORDS).map(([role, pw]) => ({ name: role, role, password: hashPassword(pw) }));
    writeFileSync(usersFile, JSON.stringify({ users, cookieSecret: randomBytes(24).toString('hex') }));
    const settings = loadSettings({ BCSS_TOPIC_PREFIX: prefix, BCSS_STACK_DIR: stack.stackDir as string, BCSS_HTTP_PORT: 'off', BCSS_CONSOLE_USERS_FILE: usersFile, BCSS_SOURCE_TIMEOUT_MS: '5000' });
    runtime = await createRuntime({ settings: { ...settings, console: { ...settings.console, port: 0 } }, logger: silentLogger });
    launched = await launchSwitch(runtime, { simulators: true, sampleDirectory: true, acl: true, sealer: true });
    expect(launched.sampleIntegrations).toBeGreaterThan(0);
    base = `http://127.0.0.1:${launched.consolePort}`;
    const client = (institution: string) => createExchangeClient({ connection: principalConnection(institution, { settings }), institution, topics: runtime.topics, codec: runtime.codec, logger: silentLogger, defaultTimeoutMs: 20_000 });
    [vaph, magda] = await Promise.all([client('vaph'), client('magda')]);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await vaph?.close();
    await magda?.close();
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
    // VAPH asking itself, without the employer 10/012 §9 demands: refused.
    for (const period of ['2024Q1..2024Q4', '2023Q1..2023Q4']) {
      const reply = await vaph.request({ service: 'dmfa', subjectNiss: niss, period });
      expect(reply.ok).toBe(false);
      tickets.push(reply.ticket as string);
    }
    // MAGDA for VAPH, the budget holder's employment: integrated, authorized, forwarded and answered.
    const reply = await magda.request({ onBehalfOf: 'vaph', service: 'dmfa', subjectNiss: niss, employer: { kind: 'ONSS', id: SIMULATED_EMPLOYERS.budgetHolder.onssNumber as string }, period: { from: '2023-07-01', to: '2024-06-30' } });
    expect(reply).toMatchObject({ ok: true, status: 'OK', legalBasis: { deliberation: '10/012', version: 'v1' } });
    delivered = reply as ExchangeOk;
    tickets.push(delivered.ticket);
    // Another institution may use the same requestId: VAPH does, for a request refused as above.
    const twin = await vaph.request({ requestId: delivered.requestId, service: 'dmfa', subjectNiss: niss, period: '2024Q1' });
    expect(twin.ok).toBe(false);
    tickets.push(twin.ticket as string);
    for (const ticket of tickets) await operator.locator(`#tail-rows tr[data-ticket="${ticket}"]`).first().waitFor({ timeout: 15_000 });
    await expect(operator.locator(`#tail-rows tr[data-ticket="${delivered.ticket}"][data-event=REPLY_DELIVERED]`).count()).resolves.toBe(1);
    const cells = await operator.locator('#tail-rows td.niss').allTextContents();
    expect(cells.length).toBeGreaterThanOrEqual(2);
    for (const cell of cells) expect(cell).toMatch(/^\*{8}\d{3}$/);
    expect(await operator.content()).not.toContain(niss);
    await shot(operator, 'tail');
    await operator.goto(`${base}/traffic`);
    await operator.locator('tr[data-series="dmfa OK"]').waitFor({ timeout: 15_000 });
    await shot(operator, 'traffic');
    // The operator may not open the person report.
    const refused = await operator.goto(`${base}/person?niss=${niss}`);
    expect(refused?.status()).toBe(403);
    await operator.close();
  }, 60_000);

  it('gives the DPO the report of exactly this person, with CSV and a verifiable evidence bundle', async () => {
    const dpo = await logIn('dpo');
    await dpo.goto(`${base}/person?niss=${niss}`);
    const shown = await dpo.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-ticket')));
    expect([...new Set(shown.filter((t) => t && t.startsWith('T')))].sort()).toEqual([...tickets].sort());
    await expect(dpo.locator(`tbody tr[data-ticket="${delivered.ticket}"][data-event=REPLY_DELIVERED]`).count()).resolves.toBe(1);
    await expect(dpo.locator('#integrity').textContent()).resolves.toMatch(/Chain verified|no seal yet/);
    await shot(dpo, 'person-report');
    const csv = await dpo.evaluate(async (url) => (await fetch(url)).text(), `/person.csv?niss=${niss}`);
    for (const ticket of tickets) expect(csv).toContain(ticket);

    // The evidence bundle, downloaded as a user would: it verifies by docs/audit-format.md alone.
    const [download] = await Promise.all([dpo.waitForEvent('download'), dpo.click('#evidence')]);
    const bundle = JSON.parse(readFileSync((await download.path()) as string, 'utf8')) as {
      subject: { niss: string };
      records: Array<{ partition: number; offset: string; informative: { decoded: { subjectNiss: string | null; ticket: string | null; eventType: string; purpose: string | null } } }>;
    };
    expect(verifyBundleIndependently(bundle)).toEqual([]);
    expect(bundle.subject.niss).toBe(niss);
    // Exactly that person's records: those a search by the NISS finds, each about the person.
    const search = await searchAudit({ client: runtime.clientFor('auditor'), codec: runtime.codec, topics: runtime.topics, niss });
    expect(bundle.records.map((r) => `${r.partition}:${r.offset}`)).toEqual(search.records.map((r) => `${r.partition}:${r.offset}`));
    for (const record of bundle.records) expect(record.informative.decoded.subjectNiss).toBe(niss);
    for (const ticket of tickets) expect(bundle.records.some((r) => r.informative.decoded.ticket === ticket)).toBe(true);
    // The export itself was recorded before the bundle was made, and is in it.
    expect(bundle.records.map((r) => r.informative.decoded.purpose)).toContain('dpo: person evidence bundle export');
    await dpo.close();
  }, 90_000);

  it('finds an exchange by requestId (each match with its requester) and shows its whole chain, request to reply', async () => {
    const dpo = await logIn('dpo');
    // The same id from two institutions: both exchanges, each with who asked.
    await dpo.goto(`${base}/exchange?requestId=${encodeURIComponent(delivered.requestId)}`);
    const both = await dpo.locator('section.exchange').evaluateAll((sections) => sections.map((s) => [s.getAttribute('data-ticket'), s.getAttribute('data-requester')]));
    expect(both.sort()).toEqual([[delivered.ticket, 'vaph via magda'], [tickets[3], 'vaph']].sort());
    await expect(dpo.locator('[data-matches]').getAttribute('data-matches')).resolves.toBe('2');

    // Narrowed to the institution that sent it: the delivered exchange only.
    await dpo.goto(`${base}/exchange?requestId=${encodeURIComponent(delivered.requestId)}&institution=magda`);
    const section = dpo.locator('section.exchange');
    await expect(section.count()).resolves.toBe(1);
    await expect(section.getAttribute('data-ticket')).resolves.toBe(delivered.ticket);
    const steps = section.locator('ol.chain > li');
    await expect(steps.evaluateAll((items) => items.map((i) => i.getAttribute('data-step')))).resolves.toEqual(['request', 'REQUEST_FORWARDED', 'REPLY_DELIVERED']);
    await expect(steps.nth(0).textContent()).resolves.toContain(delivered.requestId);
    const forwarded = (await steps.nth(1).textContent()) as string;
    const answered = (await steps.nth(2).textContent()) as string;
    for (const text of [forwarded, answered]) {
      expect(text).toContain('10/012 v1');
      // The directory's periods: asked (2023-07-01 → 2024-06-30) ∩ integrated (from 2024-01-01).
      expect(text).toContain('2024-01-01 → 2024-06-30');
    }
    expect(answered).toContain('OK');
    expect(delivered.deliveredBlocks.length).toBeGreaterThan(0);
    expect(delivered.removedBlocks.length).toBeGreaterThan(0);
    expect(delivered.removedFields.length).toBeGreaterThan(0);
    for (const name of [...delivered.deliveredBlocks, ...delivered.removedBlocks, ...delivered.removedFields]) expect(answered).toContain(name);
    await expect(section.locator('.box').first().textContent()).resolves.toContain('deliberation 10/012');
    expect(await dpo.content()).toContain(niss);
    await shot(dpo, 'exchange');
    // By ticket, the same chain.
    await dpo.goto(`${base}/exchange?ticket=${delivered.ticket}`);
    await expect(dpo.locator('ol.chain > li').count()).resolves.toBe(3);
    await dpo.goto(`${base}/deliberations`);
    await dpo.locator('#drift').waitFor({ timeout: 20_000 });
    await shot(dpo, 'access-rights');
    await dpo.close();
    // The lookups are in the audit trail, under the person: the operator's refused one too.
    const trail = await searchAudit({ client: runtime.clientFor('auditor'), codec: runtime.codec, topics: runtime.topics, niss });
    const lookups = trail.records.filter((r) => r.event === 'CONSOLE_LOOKUP').map((r) => `${r.requester} ${r.purpose} ${r.outcome}`);
    expect(lookups).toEqual(
      expect.arrayContaining(['console:operator operator: person report DENIED', 'console:dpo dpo: person report OK', 'console:dpo dpo: person report csv OK', 'console:dpo dpo: person evidence bundle export OK', 'console:dpo dpo: exchange by request id OK', 'console:dpo dpo: exchange OK']),
    );
    expect(trail.records.filter((r) => r.event === 'CONSOLE_LOOKUP' && r.purpose === 'dpo: exchange by request id').every((r) => r.requestId === delivered.requestId)).toBe(true);
  }, 60_000);

  it('re-sends a dead letter once, with its audit record; an observer and a DPO may not (403, even with a valid token)', async () => {
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

    // Before the operator: neither an observer nor a DPO re-sends it, with their own valid CSRF token.
    const observer = await logIn('observer');
    await expect(observer.locator('a[href="/dead-letters"], a[href="/person"]').count()).resolves.toBe(0);
    expect(await statusOf(observer, 'GET', '/dead-letters')).toBe(403);
    expect(await statusOf(observer, 'GET', `/person?niss=${niss}`)).toBe(403);
    expect(await statusOf(observer, 'GET', `/person/evidence?niss=${niss}`)).toBe(403);
    const dpo = await logIn('dpo');
    await dpo.goto(`${base}/dead-letters`);
    await expect(dpo.locator(`tr[data-dead-letter="${id}"] form`).count()).resolves.toBe(0);
    for (const page of [observer, dpo]) {
      const token = await page.locator('input[name=_csrf]').first().inputValue();
      expect(await statusOf(page, 'POST', `/dead-letters/${id}/redrive`, { _csrf: token })).toBe(403);
      await page.close();
    }

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
    expect(await statusOf(operator, 'POST', `/dead-letters/${id}/redrive`)).toBe(403);
    await operator.close();
    const trail = await searchAudit({ client: runtime.clientFor('auditor'), codec: runtime.codec, topics: runtime.topics, niss: 'console:operator' });
    expect(trail.records.filter((r) => r.event === 'DEAD_LETTER_REDRIVEN' && r.ticket === id).map((r) => r.outcome)).toEqual(['REDRIVEN']);
  }, 60_000);
});
