/**
 * The operators' and data-protection officer's web console (docs/console.md): fastify on 127.0.0.1,
 * pages rendered on the server, htmx and server-sent events from node_modules (no build, no CDN).
 * Sessions are a signed cookie (SameSite=Strict, HttpOnly, 8 hours); every form that changes something
 * carries the session's CSRF token as well. Roles: operator, dpo, observer (read-only, masked).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { PROJECT_ROOT } from '../config/project-paths.js';
import type { Deliberation } from '../domain/deliberation.js';
import { parseNiss } from '../domain/niss.js';
import type { Logger } from '../logging/logger.js';
import type { AvroCodec } from '../messaging/avro-codec.js';
import type { KafkaClient } from '../messaging/kafka-client.js';
import type { TopicNames } from '../messaging/topics.js';
import type { HealthState } from '../observability/metrics.js';
import { searchAudit } from '../audit/audit-search.js';
import { exportAuditBundle } from '../audit/audit-export.js';
import { tailAudit, type AuditTailFilter } from '../audit/audit-tail.js';
import { verifyAudit } from '../audit/verify.js';
import type { KeyObject } from 'node:crypto';
import { createConsoleAudit, type ConsoleAction } from './console-audit.js';
import { html, type Markup } from './html.js';
import * as pages from './pages.js';
import { exchangesByRequestId, exchangeTrail, readDeadLetters, redrivenDeadLetters, type FoundExchange, type Reader } from './records.js';
import { startStatusPoller } from './status.js';
import { startTrafficRing, trafficView } from './traffic.js';
import { CONSOLE_ROLES, type ConsoleRole, type ConsoleUser, type ConsoleUsers } from './users.js';

export interface ConsoleOptions {
  /** 0: any free port (tests). */
  readonly port: number;
  readonly host?: string;
  readonly logger: Logger;
  readonly users: ConsoleUsers;
  readonly codec: AvroCodec;
  readonly topics: TopicNames;
  readonly registry: Registry;
  readonly health: HealthState;
  /** The gateway's principal: its consumer groups' lag, and the console's own audit records. */
  readonly gatewayClient: KafkaClient;
  /** An auditor principal (config/institutions.yaml `auditors`): the trail, the seals. */
  readonly auditor: { readonly client: KafkaClient; readonly principal: string };
  /** An operator principal (`operators`): the dead letters. */
  readonly operator: { readonly client: KafkaClient; readonly principal: string };
  /** The client of the principal that writes a topic (a dead letter is re-sent as its origin's writer); null: none may. */
  writerOf(topic: string): KafkaClient | null;
  readonly groups: readonly string[];
  readonly deliberations: readonly Deliberation[];
  readonly configDir: string;
  /** The sealer runs in this process (its state is shown). */
  readonly sealer: boolean;
  /** The key the seals are checked with; null: integrity not shown. */
  readonly verifyKey: KeyObject | null;
  /** What `bcss acl sync --dry-run` and `bcss topics sync --dry-run` would change. */
  drift(): Promise<{ acl: readonly string[]; topics: readonly string[] }>;
  readonly trafficIntervalMs?: number;
  readonly statusIntervalMs?: number;
}

export interface RunningConsole {
  readonly port: number;
  readonly url: string;
  /** Polls the health now (tests, and the first page). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

const COOKIE = 'bcss_console';
const SESSION_MS = 8 * 3_600_000;
const MAX_TAILS = 8;

interface Session {
  readonly user: ConsoleUser;
  readonly csrf: string;
  readonly expires: number;
}

function assetFile(specifier: string): string {
  return createRequire(import.meta.url).resolve(specifier);
}

/** SHA-256 over every file of the configuration folder (path and content), for the diagnostics. */
export function configDigest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (folder: string): string[] =>
    readdirSync(folder)
      .sort()
      .flatMap((name) => {
        const path = join(folder, name);
        return statSync(path).isDirectory() ? walk(path) : [path];
      });
  for (const file of walk(dir)) hash.update(`${relative(dir, file)}\u0000`).update(readFileSync(file)).update('\u0000');
  return hash.digest('hex');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const log = options.logger.child({ module: 'console' });
  // No line per request (the top-level disableRequestLogging is deprecated in fastify 5).
  const app = Fastify({ loggerInstance: log, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 64 * 1024 });
  await app.register(cookie, { secret: options.users.cookieSecret });
  await app.register(formbody);
  const audit = createConsoleAudit({ client: options.gatewayClient, codec: options.codec, topics: options.topics });
  const auditReader: Reader = { client: options.auditor.client, principal: options.auditor.principal, codec: options.codec, topics: options.topics };
  const operatorReader: Reader = { client: options.operator.client, principal: options.operator.principal, codec: options.codec, topics: options.topics };
  const traffic = startTrafficRing({ registry: options.registry, ...(options.trafficIntervalMs ? { intervalMs: options.trafficIntervalMs } : {}), onError: (error) => log.warn({ err: error }, 'metrics sample failed') });
  const status = startStatusPoller({
    health: options.health,
    gatewayClient: options.gatewayClient,
    auditClient: options.auditor.client,
    auditPrincipal: options.auditor.principal,
    codec: options.codec,
    topics: options.topics,
    groups: options.groups,
    sealer: options.sealer,
    logger: log,
    ...(options.statusIntervalMs ? { intervalMs: options.statusIntervalMs } : {}),
  });
  const packageJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
  const about = {
    versions: { switch: packageJson.version, node: process.version, kafkajs: packageJson.dependencies.kafkajs ?? '?', fastify: app.version, 'topic prefix': options.topics.prefix },
    configDigest: configDigest(options.configDir),
  };
  const assets = {
    'htmx.min.js': readFileSync(assetFile('htmx.org/dist/htmx.min.js')),
    'sse.js': readFileSync(assetFile('htmx-ext-sse/dist/sse.js')),
  };
  /** Dead letters re-sent, and those being re-sent now: a double click never sends twice. */
  let redriven: Promise<Set<string>> | null = null;
  const redrivenSet = () => (redriven ??= redrivenDeadLetters(auditReader).catch((error: unknown) => ((redriven = null), Promise.reject(error))));
  const inFlight = new Set<string>();
  let tails = 0;

  const sessionOf = (request: FastifyRequest): Session | null => {
    const raw = request.cookies[COOKIE];
    if (!raw) return null;
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || unsigned.value === null) return null;
    try {
      const s = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8')) as { u: string; r: ConsoleRole; c: string; e: number };
      if (!CONSOLE_ROLES.includes(s.r) || s.e < Date.now()) return null;
      return { user: { name: s.u, role: s.r }, csrf: s.c, expires: s.e };
    } catch {
      return null;
    }
  };
  const context = (request: FastifyRequest) => (request as FastifyRequest & { session?: Session }).session as Session;
  const send = (reply: FastifyReply, markup: Markup, code = 200) => reply.code(code).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(markup.text);
  const fail = (request: FastifyRequest, reply: FastifyReply, code: number, errorCode: string, text: string) =>
    send(reply, pages.errorPage((request as FastifyRequest & { session?: Session }).session ?? null, code, errorCode, text), code);
  /** The role check; a refused lookup of a person or exchange is audited too. */
  const allowed = async (request: FastifyRequest, reply: FastifyReply, roles: readonly ConsoleRole[], denied?: ConsoleAction): Promise<boolean> => {
    const { user } = context(request);
    if (roles.includes(user.role)) return true;
    if (denied) await audit.record(user, { ...denied, outcome: 'DENIED' }).catch((error: unknown) => log.error({ err: error }, 'console audit record not written'));
    void fail(request, reply, 403, 'FORBIDDEN_ROLE', `The role ${user.role} may not open this page.`);
    return false;
  };
  const checkCsrf = (request: FastifyRequest, reply: FastifyReply): boolean => {
    const token = (request.body as Record<string, unknown> | undefined)?._csrf;
    if (typeof token === 'string' && sameText(token, context(request).csrf)) return true;
    void fail(request, reply, 403, 'BAD_CSRF_TOKEN', 'The form is stale or was not sent by this console: reload the page and try again.');
    return false;
  };

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-frame-options', 'DENY').header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');
    const path = request.url.split('?')[0] ?? '';
    if (path === '/login' || path.startsWith('/assets/')) return;
    const session = sessionOf(request);
    if (!session) {
      if (request.method === 'GET' && !path.endsWith('/stream')) return reply.redirect('/login', 303);
      return reply.code(401).send('log in first\n');
    }
    (request as FastifyRequest & { session?: Session }).session = session;
  });

  app.get('/assets/:name', async (request, reply) => {
    const body = assets[(request.params as { name: string }).name as keyof typeof assets];
    if (!body) return reply.code(404).send('not found\n');
    return reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'max-age=3600').send(body);
  });

  app.get('/login', async (_request, reply) => send(reply, pages.loginPage(null)));
  app.post('/login', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const user = typeof body.user === 'string' && typeof body.password === 'string' ? options.users.check(body.user, body.password) : null;
    if (!user) {
      log.warn({ user: typeof body.user === 'string' ? body.user.slice(0, 32) : null }, 'console log-in refused');
      return send(reply, pages.loginPage('Unknown user or wrong password.'), 401);
    }
    const session = { u: user.name, r: user.role, c: randomBytes(18).toString('base64url'), e: Date.now() + SESSION_MS };
    log.info({ user: user.name, role: user.role }, 'console log-in');
    return reply
      .setCookie(COOKIE, Buffer.from(JSON.stringify(session)).toString('base64url'), { signed: true, httpOnly: true, sameSite: 'strict', path: '/', maxAge: SESSION_MS / 1000 })
      .redirect('/health', 303);
  });
  app.post('/logout', async (request, reply) => {
    if (!checkCsrf(request, reply)) return reply;
    return reply.clearCookie(COOKIE, { path: '/' }).redirect('/login', 303);
  });

  app.get('/', async (_request, reply) => reply.redirect('/health', 303));
  app.get('/health', async (request, reply) => {
    if (status.current().polledAt === null) await status.poll();
    return send(reply, pages.healthPage(context(request), status.current(), about));
  });
  app.get('/health/diagnostics.json', async (_request, reply) => {
    const current = status.current();
    const view = trafficView(traffic.samples());
    // Counts, names of checks, groups and topics: nothing about a person.
    const report = {
      generatedAt: new Date().toISOString(),
      ...about,
      checks: [...current.checks, ...current.pipelines, ...(current.sealer ? [current.sealer] : [])].map(({ name, ok, lastOkAt, detail }) => ({ name, ok, lastOkAt: lastOkAt === null ? null : new Date(lastOkAt).toISOString(), detail })),
      seals: current.sealer?.partitions ?? [],
      consumerLag: current.lag,
      traffic: { answers: view.series.map((s) => ({ series: s.key, inWindow: s.total })), latencySeconds: view.latency, pending: view.pending, intakePauses: view.pauses },
      process: { pid: process.pid, uptimeSeconds: Math.round(process.uptime()), rssBytes: process.memoryUsage().rss },
    };
    return reply.header('content-disposition', 'attachment; filename="bcss-diagnostics.json"').type('application/json').send(`${JSON.stringify(report, null, 2)}\n`);
  });

  app.get('/traffic', async (request, reply) => send(reply, pages.trafficPage(context(request), pages.trafficPanel(trafficView(traffic.samples()), status.current().lag))));
  app.get('/traffic/panel', async (_request, reply) => send(reply, pages.trafficPanel(trafficView(traffic.samples()), status.current().lag)));

  const tailFilter = (query: Record<string, string | undefined>): Record<string, string> => {
    const filter: Record<string, string> = {};
    for (const name of ['institution', 'service', 'outcome', 'event']) {
      const value = query[name]?.trim();
      if (value) filter[name] = value.slice(0, 64);
    }
    return filter;
  };
  app.get('/tail', async (request, reply) => {
    const filter = tailFilter(request.query as Record<string, string>);
    return send(reply, pages.tailPage(context(request), filter, new URLSearchParams(filter).toString()));
  });
  app.get('/tail/stream', async (request, reply) => {
    if (tails >= MAX_TAILS) return reply.code(503).send('too many live tails open\n');
    const filter = tailFilter(request.query as Record<string, string>);
    const session = context(request);
    const auditFilter: AuditTailFilter = {
      ...(filter.institution ? { requester: filter.institution } : {}),
      ...(filter.service ? { service: filter.service } : {}),
      ...(filter.outcome ? { outcome: filter.outcome } : {}),
      ...(filter.event ? { event: filter.event } : {}),
    };
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const event = (name: string, markup: Markup) => res.write(`event: ${name}\n${markup.text.split('\n').map((line) => `data: ${line}\n`).join('')}\n`);
    tails += 1;
    let closed = false;
    let tail: { stop(): Promise<void> } | null = null;
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const close = () => {
      if (closed) return;
      closed = true;
      tails -= 1;
      clearInterval(keepAlive);
      void tail?.stop().catch((error: unknown) => log.warn({ err: error }, 'audit tail did not stop cleanly'));
    };
    request.raw.on('close', close);
    event('status', html`connecting to the audit trail…`);
    try {
      tail = await tailAudit({
        client: options.auditor.client,
        codec: options.codec,
        topics: options.topics,
        principal: options.auditor.principal,
        filter: auditFilter,
        logger: log,
        onRecord: (entry) => {
          if (!closed) event('audit', pages.auditRow(session, entry));
        },
      });
      if (closed) await tail.stop();
      else event('status', html`<span class="ok" data-live="true">live</span>`);
    } catch (error) {
      log.warn({ err: error }, 'audit tail failed');
      event('status', html`<span class="bad">the audit trail could not be read: ${message(error)}</span>`);
      res.end();
      close();
    }
  });

  app.get('/exchange', async (request, reply) => {
    const raw = request.query as Record<string, string | undefined>;
    const query = { ticket: (raw.ticket ?? '').trim(), requestId: (raw.requestId ?? '').trim(), institution: (raw.institution ?? '').trim() };
    const session = context(request);
    if (query.ticket === '' && query.requestId === '') return send(reply, pages.exchangePage(session, query, null, options.deliberations));
    if (query.ticket !== '' && !/^[A-Za-z0-9@/._:-]{1,128}$/.test(query.ticket)) return fail(request, reply, 400, 'INVALID_TICKET', 'A ticket is letters, digits and . _ : @ / - (at most 128).');
    // A requestId is the requester's own text: anything printable, but bounded.
    if (query.ticket === '' && !/^[^\s\p{Cc}]{1,200}$/u.test(query.requestId)) return fail(request, reply, 400, 'INVALID_REQUEST_ID', 'A request id is 1 to 200 characters without spaces or control characters.');
    if (query.institution !== '' && !/^[a-z0-9-]{1,64}$/.test(query.institution)) return fail(request, reply, 400, 'INVALID_INSTITUTION', 'An institution id is lower-case letters, digits and - (at most 64).');
    const found: FoundExchange[] =
      query.ticket !== ''
        ? await exchangeTrail(auditReader, query.ticket).then((trail) => (trail.length === 0 ? [] : [{ ticket: query.ticket, trail }]))
        : await exchangesByRequestId(auditReader, query.requestId, query.institution || null);
    // Recorded before it is shown, once per exchange found (keyed by the person it was about), or once when none was.
    const what = query.ticket !== '' ? 'exchange' : 'exchange by request id';
    const requestId = query.ticket === '' ? query.requestId : null;
    const lookups = found.length === 0 ? [{ ticket: query.ticket || null, niss: null, requestId }] : found.map((f) => ({ ticket: f.ticket, niss: f.trail.find((e) => e.subjectNiss)?.subjectNiss ?? null, requestId }));
    for (const lookup of lookups) await audit.record(session.user, { event: 'CONSOLE_LOOKUP', outcome: 'OK', what, ...lookup });
    return send(reply, pages.exchangePage(session, query, found, options.deliberations));
  });

  /** The query's NISS as 11 digits; null when it is none. */
  const nissOf = (request: FastifyRequest): string | null => {
    const parsed = parseNiss(((request.query as Record<string, string>).niss ?? '').trim());
    return parsed.valid ? parsed.normalized : null;
  };
  const personLookup = async (request: FastifyRequest, reply: FastifyReply, what: string) => {
    const raw = ((request.query as Record<string, string>).niss ?? '').trim();
    const niss = nissOf(request);
    if (!(await allowed(request, reply, ['dpo'], { event: 'CONSOLE_LOOKUP', outcome: 'DENIED', what, niss }))) return null;
    if (raw === '') return { niss: '' };
    if (!niss) {
      void fail(request, reply, 400, 'INVALID_NISS', 'Not a valid NISS (11 digits with a valid check number).');
      return null;
    }
    await audit.record(context(request).user, { event: 'CONSOLE_LOOKUP', outcome: 'OK', what, niss });
    const result = await searchAudit({ client: options.auditor.client, codec: options.codec, topics: options.topics, niss, principal: options.auditor.principal, logger: log, timeoutMs: 30_000 });
    return { niss, result };
  };
  app.get('/person', async (request, reply) => {
    const found = await personLookup(request, reply, 'person report');
    if (!found) return reply;
    if (!found.result) return send(reply, pages.personPage(context(request), '', null, false));
    let integrity = 'Integrity not checked: no verification key is configured.';
    if (options.verifyKey) {
      const report = await verifyAudit({ client: options.auditor.client, codec: options.codec, topic: options.topics.audit, sealsTopic: options.topics.auditSeals, publicKey: options.verifyKey, groupPrefix: `${options.topics.prefix}.${options.auditor.principal}.`, timeoutMs: 30_000 }).catch((error: unknown) => message(error));
      if (typeof report === 'string') integrity = `Integrity could not be checked: ${report}`;
      else {
        const partition = report.partitions.find((p) => p.partition === found.result.partition);
        integrity = !partition
          ? 'Integrity: this partition has no seal yet.'
          : partition.ok
            ? `Chain verified up to seal ${partition.lastSeal ?? '—'} of partition ${partition.partition} (${partition.sealedRecords} records sealed${partition.unsealedTail ? `, the last ${partition.unsealedTail.count ?? 0} not sealed yet` : ''}).`
            : `INTEGRITY PROBLEM in partition ${partition.partition}: ${partition.problems[0]?.kind ?? 'see bcss audit verify'}.`;
      }
    }
    return send(reply, pages.personPage(context(request), found.niss, { records: found.result.records, integrity, partition: found.result.partition, scanned: found.result.scanned }, options.verifyKey !== null));
  });
  // The evidence bundle of docs/audit-format.md, as `bcss audit export --niss` writes it: verifiable offline.
  app.get('/person/evidence', async (request, reply) => {
    const what = 'person evidence bundle export';
    // The role first (a refusal audited as in personLookup), then the key: no lookup is recorded for an export that cannot be made.
    if (!(await allowed(request, reply, ['dpo'], { event: 'CONSOLE_LOOKUP', outcome: 'DENIED', what, niss: nissOf(request) }))) return reply;
    if (!options.verifyKey) return fail(request, reply, 503, 'NO_VERIFY_KEY', 'No key to verify the audit seals with is configured: a bundle could prove nothing.');
    const found = await personLookup(request, reply, what);
    if (!found) return reply;
    if (!found.result) return fail(request, reply, 400, 'INVALID_NISS', 'Give a NISS.');
    const bundle = await exportAuditBundle({ client: options.auditor.client, codec: options.codec, topics: options.topics, niss: found.niss, publicKey: options.verifyKey, principal: options.auditor.principal, timeoutMs: 60_000 });
    return reply.header('content-type', 'application/json; charset=utf-8').header('content-disposition', `attachment; filename="audit-bundle-${found.niss}.json"`).header('cache-control', 'no-store').send(`${JSON.stringify(bundle, null, 2)}\n`);
  });
  app.get('/person.csv', async (request, reply) => {
    const found = await personLookup(request, reply, 'person report csv');
    if (!found) return reply;
    if (!found.result) return fail(request, reply, 400, 'INVALID_NISS', 'Give a NISS.');
    return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="audit-${found.niss}.csv"`).header('cache-control', 'no-store').send(pages.personCsv(found.result.records));
  });

  app.get('/dead-letters', async (request, reply) => {
    if (!(await allowed(request, reply, ['operator', 'dpo']))) return reply;
    const [letters, done] = await Promise.all([readDeadLetters(operatorReader), redrivenSet()]);
    const notice = (request.query as Record<string, string>).notice ?? null;
    return send(reply, pages.deadLettersPage(context(request), letters, done, notice ? notice.slice(0, 200) : null));
  });
  app.post('/dead-letters/:id/redrive', async (request, reply) => {
    if (!(await allowed(request, reply, ['operator']))) return reply;
    if (!checkCsrf(request, reply)) return reply;
    const id = (request.params as { id: string }).id;
    const { user } = context(request);
    const done = await redrivenSet();
    if (done.has(id) || inFlight.has(id)) return fail(request, reply, 409, 'ALREADY_REDRIVEN', `The dead letter ${id} was re-sent already.`);
    inFlight.add(id);
    try {
      const letter = (await readDeadLetters(operatorReader)).find((l) => l.record.id === id)?.record;
      if (!letter) return await fail(request, reply, 404, 'NO_SUCH_DEAD_LETTER', `No dead letter has the id ${id}.`);
      if (letter.truncated || letter.originalValue === null) return await fail(request, reply, 422, 'NOT_REDRIVABLE', 'Only part of this message was kept (or none): it cannot be re-sent as it was.');
      const writer = options.writerOf(letter.originTopic);
      if (!writer) return await fail(request, reply, 422, 'NOT_REDRIVABLE', `No principal of the switch writes ${letter.originTopic}.`);
      const key = letter.originalKey?.toString('utf8') ?? null;
      const niss = key && parseNiss(key).valid ? key : null;
      const action = { event: 'DEAD_LETTER_REDRIVEN', what: 'redrive', ticket: id, source: letter.originTopic, niss } as const;
      // The record first: no re-sent message without its audit record.
      await audit.record(user, { ...action, outcome: 'REDRIVEN' });
      done.add(id);
      const producer = await writer.producer();
      try {
        await producer.send(letter.originTopic, [{ key: letter.originalKey, value: letter.originalValue, headers: { ...letter.originalHeaders, 'redriven-from': id } }]);
      } catch (error) {
        done.delete(id);
        await audit.record(user, { ...action, outcome: 'REDRIVE_FAILED' }).catch(() => undefined);
        throw error;
      } finally {
        await producer.disconnect();
      }
      log.info({ user: user.name, deadLetter: id, topic: letter.originTopic }, 'dead letter re-sent');
      return reply.redirect(`/dead-letters?notice=${encodeURIComponent(`Dead letter ${id} re-sent to ${letter.originTopic}.`)}`, 303);
    } finally {
      inFlight.delete(id);
    }
  });

  app.get('/deliberations', async (request, reply) => send(reply, pages.deliberationsPage(context(request), options.deliberations)));
  app.get('/deliberations/drift', async (_request, reply) => send(reply, pages.driftPanel(await options.drift().catch((error: unknown) => ({ error: message(error) })))));

  app.setErrorHandler((error, request, reply) => {
    log.error({ err: error, path: request.url.split('?')[0] }, 'console request failed');
    return send(reply, pages.errorPage((request as FastifyRequest & { session?: Session }).session ?? null, 500, 'CONSOLE_ERROR', 'The console could not answer (Kafka or the audit trail did not answer in time); nothing was shown or changed. Try again.'), 500);
  });

  const host = options.host ?? '127.0.0.1';
  const close = async () => {
    traffic.stop();
    status.stop();
    await app.close();
    await audit.close();
  };
  try {
    await app.listen({ port: options.port, host });
  } catch (error) {
    // A port in use: nothing of the console may keep running (its samplers would hold the process).
    await close().catch(() => undefined);
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { port, url: `http://${host}:${port}`, refresh: () => status.poll(), close };
}
