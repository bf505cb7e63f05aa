/**
 * A reply as a person reads it at a terminal: the status with its explanation, where the exchange
 * stands (ticket, times, periods, blocks) and what the payload holds. Pure: text in, text out.
 */
import type { Period } from '../domain/types.js';
import type { ExchangeReply } from './exchange-client.js';

export type PayloadFormat = 'summary' | 'json' | 'none';

export interface ReplyFormatOptions {
  /** `summary` (default): a few lines per declaration/period for the services that have one, JSON otherwise. */
  readonly payload?: PayloadFormat;
}

const LABEL_WIDTH = 13;

function line(label: string, value: string): string {
  return `  ${label.padEnd(LABEL_WIDTH)}${value}`;
}

export function formatPeriod(period: Period): string {
  return `${period.from}..${period.to ?? '(open)'}`;
}

function periodsText(periods: readonly Period[]): string {
  return periods.length === 0 ? '(none)' : periods.map(formatPeriod).join(', ');
}

function listText(items: readonly string[]): string {
  return items.length === 0 ? '(none)' : items.join(', ');
}

function elapsed(fromIso: string, toIso: string): string {
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return '';
  return ms < 1000 ? ` (${ms} ms after receipt)` : ` (${(ms / 1000).toFixed(1)} s after receipt)`;
}

/** JSON with byte fields shown by their size: a photo is not for a terminal. */
export function payloadJson(payload: unknown): string {
  return JSON.stringify(
    payload,
    function (this: Record<string, unknown>, key: string, value: unknown) {
      const raw = this[key];
      if (raw instanceof Uint8Array) return `<${raw.length} bytes>`;
      return value;
    },
    2,
  );
}

// ---------------------------------------------------------------------------------------------------
// Payload summaries. The switch may have withheld any block, so every field may be missing.

type Loose = Record<string, unknown> | null | undefined;

function obj(value: unknown): Loose {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function arr(value: unknown): Loose[] {
  return Array.isArray(value) ? value.map(obj) : [];
}

function str(value: unknown): string | null {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/** Euro cents as euros. */
function euros(cents: unknown): string | null {
  return typeof cents === 'number' ? `${(cents / 100).toFixed(2)} EUR` : null;
}

/** The DmfA's hundredths (days per week, hours per week). */
function hundredths(value: unknown): string | null {
  return typeof value === 'number' ? (value / 100).toFixed(2).replace(/\.00$/, '') : null;
}

function dates(from: unknown, to: unknown): string {
  return `${str(from) ?? '?'}..${str(to) ?? '(open)'}`;
}

function joined(parts: ReadonlyArray<string | null | undefined | false>): string {
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(', ');
}

function spaced(parts: ReadonlyArray<string | null>): string {
  return parts.filter((p): p is string => p !== null && p !== '').join(' ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function dmfaSummary(payload: Loose): string[] {
  const declarations = arr(payload?.employerDeclarations);
  const out = [plural(declarations.length, 'employer declaration')];
  const sorted = [...declarations].sort((a, b) =>
    `${str(a?.quarter)}${str(a?.onssNumber)}`.localeCompare(`${str(b?.quarter)}${str(b?.onssNumber)}`),
  );
  for (const declaration of sorted) {
    const status = obj(declaration?.declarationStatus);
    out.push(
      `${str(declaration?.quarter) ?? '?'}  ${joined([
        `ONSS ${str(declaration?.onssNumber) ?? '?'}`,
        str(declaration?.enterpriseNumber) && `enterprise ${str(declaration?.enterpriseNumber)}`,
        str(status?.attestationStatus),
        euros(declaration?.netAmountDue) && `net due ${euros(declaration?.netAmountDue)}`,
      ])}`,
    );
    for (const person of arr(declaration?.naturalPersons)) {
      for (const record of arr(person?.workerRecords)) {
        const occupations = arr(record?.occupations);
        out.push(
          `    worker record  ${joined([
            `category ${str(record?.employerCategory) ?? '?'}`,
            `worker code ${str(record?.workerCode) ?? '?'}`,
            plural(occupations.length, 'occupation'),
          ])}`,
        );
        for (const occupation of occupations) {
          const hours = hundredths(occupation?.meanWorkingHours);
          const reference = hundredths(occupation?.referenceMeanWorkingHours);
          const remunerations = arr(occupation?.remunerations).length;
          out.push(
            `      ${dates(occupation?.startDate, occupation?.endDate)}  ${joined([
              str(occupation?.jointCommittee) && `JC ${str(occupation?.jointCommittee)}`,
              hundredths(occupation?.daysPerWeek) && `${hundredths(occupation?.daysPerWeek)} days/week`,
              hours && `${hours}${reference ? `/${reference}` : ''} h/week`,
              remunerations > 0 && plural(remunerations, 'remuneration'),
              obj(occupation?.usingEmployer) && `user ${str(obj(occupation?.usingEmployer)?.enterpriseNumber) ?? '(withheld)'}`,
            ])}`,
          );
        }
      }
    }
  }
  return out;
}

function dimonaSummary(payload: Loose): string[] {
  const periods = arr(payload?.dimonaPeriods);
  const out = [plural(periods.length, 'DIMONA period')];
  for (const period of periods) {
    const employer = obj(period?.employer);
    const occupation = obj(period?.occupation);
    const employerId = str(employer?.employerIdNumber);
    out.push(
      `${dates(occupation?.inDate, occupation?.outDate)}  ${joined([
        employerId && `${str(employer?.employerIdKind) ?? 'employer'} ${employerId}`,
        str(employer?.name),
        str(occupation?.workerType) && `worker type ${str(occupation?.workerType)}`,
        str(occupation?.jointCommittee) && `JC ${str(occupation?.jointCommittee)}`,
        `id ${str(period?.dimonaPeriodId) ?? '?'}`,
      ])}`,
    );
  }
  return out;
}

function identificationSummary(payload: Loose): string[] {
  const name = obj(payload?.name);
  const firstNames = Array.isArray(name?.firstNames) ? (name.firstNames as unknown[]).map(str).filter(Boolean).join(' ') : null;
  const birth = obj(payload?.birth);
  const residence = obj(payload?.mainResidence);
  const address = obj(residence?.address);
  const decease = obj(payload?.decease);
  const out: string[] = [];
  const fullName = joined([str(name?.lastName), firstNames]);
  if (fullName) out.push(`name        ${fullName}`);
  if (birth) out.push(`born        ${joined([str(birth.date), str(birth.place)])}`);
  const gender = str(obj(payload?.gender)?.code);
  if (gender) out.push(`gender      ${gender}`);
  const nationalities = arr(payload?.nationalities).map((n) => str(n?.countryCode)).filter(Boolean);
  if (nationalities.length > 0) out.push(`nationality ${nationalities.join(', ')}`);
  if (address) {
    out.push(
      `residence   ${joined([
        spaced([str(address.street), str(address.houseNumber)]),
        spaced([str(address.postalCode), str(address.municipality)]),
        str(residence?.since) && `since ${str(residence?.since)}`,
      ])}`,
    );
  }
  const civil = obj(payload?.civilStatus);
  if (str(civil?.code)) out.push(`civil state ${joined([str(civil?.code), str(civil?.since) && `since ${str(civil?.since)}`])}`);
  if (decease) out.push(`deceased    ${joined([str(decease.date), str(decease.place)])}`);
  if (out.length === 0) out.push('(no block delivered)');
  return out;
}

const SUMMARIES: Readonly<Record<string, (payload: Loose) => string[]>> = {
  'be.bcss.gateway.payload.DmfaPayload': dmfaSummary,
  'be.bcss.gateway.payload.DimonaPayload': dimonaSummary,
  'be.bcss.gateway.payload.IdentificationPayload': identificationSummary,
};

function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : by + l))
    .join('\n');
}

function payloadText(record: string | null, payload: unknown, format: PayloadFormat): string[] {
  if (format === 'none') return [];
  if (payload === null || payload === undefined) return ['', 'payload      (none)'];
  const header = `payload      ${record ?? '(unknown record)'}`;
  const summarize = format === 'summary' && record !== null ? SUMMARIES[record] : undefined;
  if (summarize) {
    try {
      return ['', header, ...summarize(obj(payload)).map((l) => `  ${l}`)];
    } catch {
      // A payload of an unexpected shape is still shown, as JSON.
    }
  }
  return ['', header, indent(payloadJson(payload))];
}

export function formatReply(reply: ExchangeReply, options: ReplyFormatOptions = {}): string {
  const out: string[] = [];
  if (reply.ok) {
    out.push(`OK  ${reply.service}: data delivered`);
  } else {
    out.push(`REFUSED  ${reply.status}${reply.bcssCode ? ` (BCSS ${reply.bcssCode})` : ''}`);
    out.push(`  ${reply.message}`);
    if (reply.newNiss) out.push(line('new NISS', reply.newNiss));
    if (reply.retriable !== null) out.push(line('retry', reply.retriable ? 'may succeed later' : 'will not help'));
  }
  out.push(line('ticket', reply.ticket));
  out.push(line('request', reply.requestId));
  out.push(line('service', reply.service));
  out.push(line('periods', periodsText(reply.effectivePeriods)));
  if (reply.ok) {
    out.push(line('delivered', listText(reply.deliveredBlocks)));
    out.push(line('withheld', listText(reply.removedBlocks)));
    out.push(line('withheld fields', listText(reply.removedFields)));
    out.push(line('retain until', reply.retainUntil ?? '(no limit set by the deliberation)'));
    const basis = reply.legalBasis;
    out.push(
      line(
        'legal basis',
        basis
          ? `deliberation ${basis.deliberation} (${joined([`version ${basis.version}`, basis.purpose && `purpose ${basis.purpose}`])})`
          : '(none given)',
      ),
    );
  }
  out.push(line('received', reply.receivedAt));
  out.push(line('forwarded', reply.forwardedAt ?? 'no: answered by the switch without asking the source'));
  out.push(line('answered', `${reply.answeredAt}${elapsed(reply.receivedAt, reply.answeredAt)}`));
  if (reply.ok) out.push(...payloadText(reply.payloadRecord, reply.payload, options.payload ?? 'summary'));
  return `${out.join('\n')}\n`;
}
