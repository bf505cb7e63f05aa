/**
 * The console's pages, rendered on the server: every value goes through `html` (html.ts), which
 * escapes it. NISS are shown in full to the data-protection officer only; others see `maskNiss`.
 */
import type { Deliberation } from '../domain/deliberation.js';
import { describeGrantedFields, grantFor } from '../domain/deliberation.js';
import { deliberationCell, eventLabel, formatInstant, institutionCell, maskNiss, serviceCell } from '../audit/audit-format.js';
import type { AuditEntry } from '../audit/audit-search.js';
import { html, type Markup } from './html.js';
import type { DeadLetterView, FoundExchange } from './records.js';
import type { CheckState, ConsoleStatus } from './status.js';
import type { TrafficView } from './traffic.js';
import type { ConsoleRole, ConsoleUser } from './users.js';

export interface PageContext {
  readonly user: ConsoleUser;
  readonly csrf: string;
}

const NAV: ReadonlyArray<readonly [path: string, label: string, roles: readonly ConsoleRole[]]> = [
  ['/health', 'Health', ['operator', 'dpo', 'observer']],
  ['/traffic', 'Traffic', ['operator', 'dpo', 'observer']],
  ['/tail', 'Live audit', ['operator', 'dpo', 'observer']],
  ['/exchange', 'Exchange', ['operator', 'dpo', 'observer']],
  ['/person', 'Person report', ['dpo']],
  ['/dead-letters', 'Dead letters', ['operator', 'dpo']],
  ['/deliberations', 'Access rights', ['operator', 'dpo', 'observer']],
];

export function rolesOf(path: string): readonly ConsoleRole[] {
  return NAV.find(([p]) => p === path)?.[2] ?? [];
}

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{display:flex;gap:1rem;align-items:center;background:#12355b;color:#fff;padding:.5rem 1rem;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header a.on{text-decoration:underline}
header form{margin-left:auto}main{padding:1rem 1.5rem;max-width:1200px}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0 1rem}
th,td{border:1px solid #d8dde3;padding:.25rem .5rem;text-align:left;vertical-align:top}th{background:#eef1f4}
.ok{color:#0a6b2a;font-weight:600}.bad{color:#b00020;font-weight:600}.muted{color:#6b7580}
.box{background:#fff;border:1px solid #d8dde3;padding:.75rem 1rem;margin:.5rem 0}
code,pre{font-family:ui-monospace,monospace;font-size:12px}pre{white-space:pre-wrap;max-height:16rem;overflow:auto}
button,input,select{font:inherit;padding:.2rem .5rem}form.inline{display:inline}
ol.chain{display:flex;flex-wrap:wrap;align-items:flex-start;gap:.25rem;list-style:none;padding:0;margin:.5rem 0}ol.chain li{background:#fff;border:1px solid #d8dde3;padding:.4rem .6rem;max-width:22rem}ol.chain li+li::before{content:'→ ';font-weight:600;color:#12355b}
@media print{header,form,.noprint{display:none}body{background:#fff}main{max-width:none}}
`;

export function page(title: string, context: PageContext | null, body: Markup, active = ''): Markup {
  const nav = context
    ? html`<header><strong>BCSS console</strong>${NAV.filter(([, , roles]) => roles.includes(context.user.role)).map(
        ([path, label]) => html`<a href="${path}" class="${path === active ? 'on' : ''}">${label}</a>`,
      )}<form method="post" action="/logout"><input type="hidden" name="_csrf" value="${context.csrf}"><span>${context.user.name} (${context.user.role})</span> <button>Log out</button></form></header>`
    : html`<header><strong>BCSS console</strong></header>`;
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · BCSS console</title>
<style>${STYLE}</style><script src="/assets/htmx.min.js"></script><script src="/assets/sse.js"></script></head>
<body>${nav}<main><h1>${title}</h1>${body}</main></body></html>`;
}

export function loginPage(error: string | null): Markup {
  return page(
    'Log in',
    null,
    html`${error ? html`<p class="bad" role="alert">${error}</p>` : ''}
<form method="post" action="/login" class="box"><p><label>User <input name="user" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p><button>Log in</button></form>`,
  );
}

export function errorPage(context: PageContext | null, status: number, code: string, message: string): Markup {
  return page(`${status} ${code}`, context, html`<p class="bad" data-code="${code}">${message}</p>`);
}

const when = (at: number | null) => (at === null ? 'never' : formatInstant(at));
const okCell = (ok: boolean) => html`<span class="${ok ? 'ok' : 'bad'}">${ok ? 'OK' : 'FAILING'}</span>`;

function checkRows(checks: readonly CheckState[]): Markup {
  return html`${checks.map((c) => html`<tr data-check="${c.name}"><td>${c.name}</td><td>${okCell(c.ok)}</td><td>${when(c.lastOkAt)}</td><td>${c.detail}</td></tr>`)}`;
}

export function healthPage(context: PageContext, status: ConsoleStatus, about: { versions: Record<string, string>; configDigest: string }): Markup {
  const all = [...status.checks, ...status.pipelines, ...(status.sealer ? [status.sealer] : [])];
  const green = all.length > 0 && all.every((c) => c.ok);
  return page(
    'Health',
    context,
    html`<p id="overall" class="${green ? 'ok' : 'bad'}">${green ? 'All checks OK' : 'Some checks are failing'} <span class="muted">(polled ${when(status.polledAt)} UTC)</span></p>
<table><thead><tr><th>check</th><th>state</th><th>last OK at (UTC)</th><th>detail</th></tr></thead><tbody>${checkRows(all)}</tbody></table>
${status.sealer ? html`<h2>Audit seals</h2><table><thead><tr><th>partition</th><th>last seal</th><th>sealed at</th><th>sealed up to offset</th><th>end offset</th><th>offsets not sealed</th></tr></thead><tbody>${status.sealer.partitions.map(
      (p) => html`<tr><td>${p.partition}</td><td>${p.lastSeal ?? '—'}</td><td>${when(p.sealedAt)}</td><td>${p.sealedUpTo ?? '—'}</td><td>${p.endOffset}</td><td>${p.unsealed}</td></tr>`,
    )}</tbody></table>` : html`<p class="muted">The audit sealer does not run in this process.</p>`}
<h2>Versions and configuration</h2><table><tbody>${Object.entries(about.versions).map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}<tr><th>configuration digest (SHA-256)</th><td><code>${about.configDigest}</code></td></tr></tbody></table>
<p><a href="/health/diagnostics.json" download>Download the diagnostics report (JSON, no personal data)</a></p>`,
    '/health',
  );
}

const seconds = (s: number | null) => (s === null ? '—' : `${(s * 1000).toFixed(1)} ms`);

function sparkline(counts: readonly number[]): Markup {
  const max = Math.max(1, ...counts);
  const points = counts.map((c, i) => `${(i * 200) / Math.max(counts.length - 1, 1)},${30 - (c * 28) / max}`).join(' ');
  return html`<svg width="200" height="32" role="img" aria-label="answers per interval"><polyline fill="none" stroke="#12355b" stroke-width="1.5" points="${points}"/></svg>`;
}

export function trafficPanel(view: TrafficView, lag: ConsoleStatus['lag']): Markup {
  return html`<div id="traffic" hx-get="/traffic/panel" hx-trigger="every 5s" hx-swap="outerHTML">
<p class="muted">Window: ${view.from === null ? 'no sample yet' : html`${formatInstant(view.from)} – ${formatInstant(view.to ?? view.from)} UTC`}</p>
<table><thead><tr><th>service</th><th>outcome</th><th>answers in window</th><th>per interval</th></tr></thead><tbody>${view.series.map((s) => {
    const [service, outcome] = s.key.split(' ');
    return html`<tr data-series="${s.key}"><td>${service}</td><td>${outcome}</td><td>${s.total}</td><td>${sparkline(s.counts)}</td></tr>`;
  })}</tbody></table>
<table><tbody><tr><th>latency p50 / p95 / p99</th><td>${seconds(view.latency.p50)} / ${seconds(view.latency.p95)} / ${seconds(view.latency.p99)} <span class="muted">(${view.latency.answers} answers)</span></td></tr>
<tr><th>pending exchanges</th><td id="pending">${view.pending}</td></tr><tr><th>intake pauses</th><td>${view.pauses} (${view.pausesInWindow} in window)</td></tr></tbody></table>
<h2>Consumer lag per group and partition</h2><table><thead><tr><th>group</th><th>topic</th><th>partition</th><th>messages</th></tr></thead><tbody>${lag.map(
    (l) => html`<tr><td>${l.group}</td><td>${l.topic}</td><td>${l.partition}</td><td>${l.lag}</td></tr>`,
  )}</tbody></table></div>`;
}

export function trafficPage(context: PageContext, panel: Markup): Markup {
  return page('Traffic', context, panel, '/traffic');
}

function nissFor(context: PageContext, niss: string | null): string {
  return context.user.role === 'dpo' ? (niss ?? '—') : maskNiss(niss);
}

export function auditRow(context: PageContext, e: AuditEntry): Markup {
  return html`<tr data-event="${e.event}" data-ticket="${e.ticket ?? ''}"><td>${formatInstant(e.at)}</td><td>${eventLabel(e)}<br><span class="muted">${e.event}</span></td><td>${institutionCell(e)}</td><td>${serviceCell(e)}</td><td class="niss">${nissFor(context, e.subjectNiss)}</td><td>${e.outcome}</td><td>${e.ticket ? html`<a href="/exchange?ticket=${e.ticket}">${e.ticket}</a>` : '—'}</td><td>${e.requestId ? html`<a href="${requestLink(e.requestId, e)}">${e.requestId}</a>` : '—'}</td></tr>`;
}

/** The exchange page of a requestId, narrowed to the institution that sent it (the relay, else the requester). */
function requestLink(requestId: string, e: Pick<AuditEntry, 'requester' | 'intermediary'>): string {
  return `/exchange?${new URLSearchParams({ requestId, institution: e.intermediary ?? e.requester ?? '' }).toString()}`;
}

const AUDIT_HEAD = html`<thead><tr><th>at (UTC)</th><th>event</th><th>institution</th><th>service</th><th>person</th><th>outcome</th><th>ticket</th><th>request id</th></tr></thead>`;

export function tailPage(context: PageContext, filter: Record<string, string>, query: string): Markup {
  const field = (name: string, label: string) => html`<label>${label} <input name="${name}" value="${filter[name] ?? ''}" size="14"></label> `;
  return page(
    'Live audit',
    context,
    html`<form method="get" action="/tail" class="box">${field('institution', 'institution')}${field('service', 'service')}${field('outcome', 'outcome')}${field('event', 'event')}<button>Filter</button></form>
<div hx-ext="sse" sse-connect="/tail/stream?${query}"><p>Stream: <span id="tail-status" sse-swap="status">connecting…</span></p>
<table>${AUDIT_HEAD}<tbody id="tail-rows" sse-swap="audit" hx-swap="afterbegin"></tbody></table></div>`,
    '/tail',
  );
}

function explain(entry: AuditEntry, deliberations: readonly Deliberation[]): Markup {
  const deliberation = deliberations.find((d) => d.number === entry.deliberation);
  const version = deliberation?.versions.find((v) => v.id === entry.deliberationVersion);
  const grant = version && entry.service ? grantFor(version, entry.service) : null;
  return html`<div class="box"><p><strong>Decision:</strong> ${deliberation ? html`deliberation ${deliberation.number} (${deliberation.title}), version ${entry.deliberationVersion ?? '—'}` : 'no deliberation applied'}; purpose ${entry.purpose ?? '—'}; outcome <strong>${entry.outcome}</strong>${entry.bcssCode ? ` (BCSS code ${entry.bcssCode})` : ''}.</p>
${version ? html`<p>Purpose in force: ${version.purposeText}</p>` : ''}
${grant ? html`<p>Granted (${grant.paragraphs}): ${describeGrantedFields(grant).join('; ')}</p>` : ''}
<p>Directory: periods covered (asked ∩ integrated) ${entry.effectivePeriods.length === 0 ? '—' : entry.effectivePeriods.map((p) => `${p.from} → ${p.to ?? 'open'}`).join(', ')}${entry.employer ? html`; employer ${entry.employer.kind} ${entry.employer.id}` : ''}.</p>
<p>Delivered blocks: ${entry.deliveredBlocks.join(', ') || '—'}; removed blocks: ${entry.removedBlocks.join(', ') || '—'}; removed fields: ${entry.removedFields.join(', ') || '—'}.</p></div>`;
}

/** What the exchange page was asked: a ticket, or a requestId with (optionally) the institution that sent it. */
export interface ExchangeQuery {
  readonly ticket: string;
  readonly requestId: string;
  readonly institution: string;
}

const STEP_LABELS: Readonly<Record<string, string>> = {
  REQUEST_REFUSED: 'refused',
  REQUEST_FORWARDED: 'forwarded',
  REPLY_DELIVERED: 'reply delivered',
  SOURCE_TIMEOUT: 'source timed out',
  LATE_SOURCE_REPLY: 'late source reply (dropped)',
};

const blockList = (names: readonly string[]) => names.join(', ') || '—';

/** Request → forwarded → reply delivered (or refused, timed out), one step per audit record of the exchange. */
function chain(context: PageContext, trail: readonly AuditEntry[]): Markup {
  const asked = trail.find((e) => e.requestId !== null) ?? trail[0];
  const steps = trail.filter((e) => STEP_LABELS[e.event] !== undefined);
  const step = (e: AuditEntry) => html`<li data-step="${e.event}"><strong>${STEP_LABELS[e.event] ?? e.event}</strong> <span class="muted">${formatInstant(e.at)} UTC</span><br>${
    e.event === 'LATE_SOURCE_REPLY'
      ? html`from ${e.source ?? '—'}: ${e.outcome}`
      : html`${e.event === 'REQUEST_FORWARDED' ? html`to ${e.source ?? '—'}` : html`outcome <strong>${e.outcome}</strong>`}; ${deliberationCell(e)}<br>periods ${e.effectivePeriods.map((p) => `${p.from} → ${p.to ?? 'open'}`).join(', ') || '—'}${
          e.event === 'REQUEST_FORWARDED' ? '' : html`<br>delivered ${blockList(e.deliveredBlocks)}`
        }<br>removed ${blockList(e.removedBlocks)}${e.removedFields.length > 0 ? html`; fields ${blockList(e.removedFields)}` : ''}`
  }</li>`;
  return html`<ol class="chain"><li data-step="request"><strong>request</strong> ${asked?.requestId ?? '(no requestId)'}<br>from ${asked ? institutionCell(asked) : '—'}<br>${asked?.service ?? '—'} about <span class="niss">${nissFor(context, asked?.subjectNiss ?? null)}</span></li>${steps.map(step)}</ol>`;
}

function exchangeSection(context: PageContext, found: FoundExchange, deliberations: readonly Deliberation[]): Markup {
  const { trail } = found;
  const outcome = trail.find((e) => ['REPLY_DELIVERED', 'REQUEST_REFUSED', 'SOURCE_TIMEOUT'].includes(e.event)) ?? trail.at(-1);
  const asked = trail.find((e) => e.requestId !== null);
  return html`<section class="exchange" data-ticket="${found.ticket}" data-requester="${asked ? institutionCell(asked) : ''}"><h2>Ticket ${found.ticket}${asked ? html` <span class="muted">— requested by ${institutionCell(asked)}</span>` : ''}</h2>
${chain(context, trail)}${outcome ? explain(outcome, deliberations) : ''}<table>${AUDIT_HEAD}<tbody>${trail.map((e) => auditRow(context, e))}</tbody></table></section>`;
}

export function exchangePage(context: PageContext, query: ExchangeQuery, found: readonly FoundExchange[] | null, deliberations: readonly Deliberation[]): Markup {
  const form = html`<form method="get" action="/exchange" class="box"><label>Ticket <input name="ticket" value="${query.ticket}" size="30"></label> <span class="muted">or</span> <label>request id <input name="requestId" value="${query.requestId}" size="30"></label> <label>of institution <input name="institution" value="${query.institution}" size="10" placeholder="any"></label> <button>Show</button></form>`;
  if (found === null) return page('Exchange', context, form, '/exchange');
  const asked = query.ticket !== '' ? html`the ticket ${query.ticket}` : html`the request id ${query.requestId}${query.institution ? html` of ${query.institution}` : ''}`;
  return page(
    'Exchange',
    context,
    html`${form}${
      found.length === 0
        ? html`<p class="bad" data-code="NOT_FOUND">No audit record has ${asked}.</p>`
        : html`${found.length > 1 ? html`<p data-matches="${found.length}">${found.length} exchanges have ${asked}: each is shown with its requester.</p>` : ''}${found.map((f) => exchangeSection(context, f, deliberations))}`
    }`,
    '/exchange',
  );
}

export function personPage(context: PageContext, niss: string, report: { records: readonly AuditEntry[]; integrity: string; partition: number; scanned: number } | null, evidence: boolean): Markup {
  const form = html`<form method="get" action="/person" class="box noprint"><label>NISS <input name="niss" value="${niss}" size="16" required></label> <button>Report</button></form>`;
  if (report === null) return page('Person report', context, form, '/person');
  const query = `niss=${encodeURIComponent(niss)}`;
  return page(
    'Person report',
    context,
    html`${form}<p>Who consulted the data of <strong>${niss}</strong>: ${report.records.length} records (audit partition ${report.partition}, ${report.scanned} messages read).</p>
<p id="integrity">${report.integrity}</p>
<p class="noprint"><a href="/person.csv?${query}" download>Download CSV</a> · <a href="#" onclick="window.print();return false">Print</a>${evidence ? html` · <a href="/person/evidence?${query}" id="evidence" download>Download evidence bundle (JSON)</a>` : ''}</p>
<table><thead><tr><th>at (UTC)</th><th>event</th><th>institution</th><th>service (source)</th><th>deliberation</th><th>purpose</th><th>outcome</th><th>ticket</th></tr></thead><tbody>${report.records.map(
      (e) => html`<tr data-ticket="${e.ticket ?? ''}" data-event="${e.event}"><td>${formatInstant(e.at)}</td><td>${eventLabel(e)}</td><td>${institutionCell(e)}</td><td>${serviceCell(e)}</td><td>${deliberationCell(e)}</td><td>${e.purpose ?? '—'}</td><td>${e.outcome}</td><td>${e.ticket ?? '—'}</td></tr>`,
    )}</tbody></table>`,
    '/person',
  );
}

const CSV_COLUMNS = ['at', 'event', 'requester', 'intermediary', 'service', 'source', 'deliberation', 'deliberationVersion', 'purpose', 'outcome', 'ticket', 'deliveredBlocks', 'removedBlocks'] as const;

/** `;`-separated with a BOM, as Belgian spreadsheets open it; a cell starting like a formula is quoted with `'`. */
export function personCsv(records: readonly AuditEntry[]): string {
  const cell = (value: string) => {
    const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
    return `"${text.replace(/"/g, '""')}"`;
  };
  const row = (e: AuditEntry) =>
    CSV_COLUMNS.map((c) => {
      const v = c === 'at' ? new Date(e.at).toISOString() : (e[c] as string | readonly string[] | null);
      return cell(Array.isArray(v) ? v.join(' ') : (v as string | null) ?? '');
    }).join(';');
  return `\uFEFF${CSV_COLUMNS.join(';')}\r\n${records.map((e) => `${row(e)}\r\n`).join('')}`;
}

const NISS_IN_TEXT = /\b\d{11}\b/g;

/**
 * A dead letter's envelope is shown (ids, service, requester, period); its nested payload — a source's
 * data about a person, which no deliberation lets a console user read — only as its size.
 */
function envelopeOnly(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return `<${value.length} bytes withheld>`;
  if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return `<${((value as { data: unknown[] }).data).length} bytes withheld>`;
  }
  return value;
}

export function deadLettersPage(context: PageContext, letters: readonly DeadLetterView[], redriven: ReadonlySet<string>, notice: string | null): Markup {
  const canRedrive = context.user.role === 'operator';
  const show = (text: string) => (context.user.role === 'dpo' ? text : text.replace(NISS_IN_TEXT, (n) => maskNiss(n)));
  const decoded = (l: DeadLetterView) =>
    l.decoded ? html`<details><summary>${l.decoded.recordName}</summary><pre>${show(JSON.stringify(l.decoded.value, envelopeOnly, 1).slice(0, 4000))}</pre></details>` : html`<span class="muted">not decodable (${l.record.originalSize ?? 0} bytes)</span>`;
  return page(
    'Dead letters',
    context,
    html`${notice ? html`<p class="box" role="status">${notice}</p>` : ''}<table><thead><tr><th>recorded (UTC)</th><th>reason</th><th>origin</th><th>content</th><th>state</th></tr></thead><tbody>${letters.map(
      (l) => html`<tr data-dead-letter="${l.record.id}"><td>${formatInstant(l.record.recordedAt)}</td><td><strong>${l.record.reasonCode}</strong><br>${l.record.reason}</td><td>${l.record.originTopic} [${l.record.originPartition}] @${l.record.originOffset}<br><span class="muted">${l.record.originInstitution ?? ''}</span></td><td>${decoded(l)}</td><td>${
        redriven.has(l.record.id)
          ? html`<span class="ok">redriven</span>`
          : canRedrive
            ? html`<form method="post" action="/dead-letters/${l.record.id}/redrive" class="inline" onsubmit="this.querySelector('button').disabled=true;return confirm('Re-send this message to ${l.record.originTopic}?')"><input type="hidden" name="_csrf" value="${context.csrf}"><button>Redrive</button></form>`
            : html`<span class="muted">not redriven</span>`
      }</td></tr>`,
    )}</tbody></table>${letters.length === 0 ? html`<p>No dead letters.</p>` : ''}`,
    '/dead-letters',
  );
}

export function deliberationsPage(context: PageContext, deliberations: readonly Deliberation[]): Markup {
  return page(
    'Access rights',
    context,
    html`<p>Who may ask what, when and why, as the deliberations loaded by this gateway say (read-only).</p>
<table><thead><tr><th>deliberation</th><th>requester (via)</th><th>purpose</th><th>version in force</th><th>services: granted (paragraphs)</th></tr></thead><tbody>${deliberations.map((d) =>
      d.versions.map(
        (v) => html`<tr><td>${d.number}<br><span class="muted">${d.reference}</span></td><td>${d.requester}${d.intermediaries.length > 0 ? ` via ${d.intermediaries.map((i) => i.institution).join(', ')}` : ''}</td><td>${d.purpose.code}<br><span class="muted">${v.purposeText}</span></td><td>${v.id}: ${v.inForce.from} → ${v.inForce.to ?? 'open'}</td><td>${v.services.map((s) => html`<div><strong>${s.service}</strong> (${s.source}, ${s.paragraphs}): ${describeGrantedFields(s).join('; ')}</div>`)}</td></tr>`,
      ),
    )}</tbody></table>
<h2>ACL and topic drift</h2><div hx-get="/deliberations/drift" hx-trigger="load" hx-swap="outerHTML"><p class="muted">Comparing with the broker…</p></div>`,
    '/deliberations',
  );
}

export function driftPanel(drift: { acl: readonly string[]; topics: readonly string[] } | { error: string }): Markup {
  if ('error' in drift) return html`<div id="drift"><p class="bad">${drift.error}</p></div>`;
  const list = (lines: readonly string[], none: string) => (lines.length === 0 ? html`<p class="ok">${none}</p>` : html`<pre>${lines.join('\n')}</pre>`);
  return html`<div id="drift"><h3>ACLs (what <code>bcss acl sync</code> would change)</h3>${list(drift.acl, 'No ACL drift.')}<h3>Topics (what <code>bcss topics sync</code> would change)</h3>${list(drift.topics, 'No topic drift.')}</div>`;
}
