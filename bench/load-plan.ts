import { buildAuthorizationIndex, decideAuthorization } from '../src/domain/authorization.js';
import type { Catalogue } from '../src/domain/catalogue.js';
import type { Deliberation } from '../src/domain/deliberation.js';
import type { Channel } from '../src/domain/exchange.js';
import type { Integration } from '../src/domain/directory.js';
import type { RequestRecord, SourceRequestRecord } from '../src/contract/exchange-records.js';
import { EXCHANGE_RECORD, MESSAGE_TYPE } from '../src/contract/names.js';
import type { AvroCodec } from '../src/messaging/avro-codec.js';
import type { OutMessage } from '../src/messaging/kafka-client.js';
import type { TopicNames } from '../src/messaging/topics.js';
import { SIMULATED_EMPLOYERS, createPrng, generateSyntheticPersons } from '../src/sources/synthetic-population.js';
import { SOURCE_HEADER } from './bare-relay.js';

/**
 * What the benchmark asks, and of whom. Two kinds of exchange, both answered OK by the simulators
 * for the generated persons:
 *
 * - identification (19/010): ONVA's inspection asks the registers about a person it integrated
 *   (capacity `inspection`, from 2023-01-01, no employer). Small answer, little to filter. 19/010
 *   grants it for consultation only (§3, §37): ONVA asks through its consultation application, on
 *   its consultation-requests topic, and is answered on its consultations topic.
 * - DmfA (10/012): MAGDA asks for VAPH about a personal assistant VAPH integrated for one employer
 *   (capacity `pab-assistant`, employer-bound). The simulated ONSS over-delivers the person's whole
 *   record — every employer, every block, a quarter either side — so the switch drops other
 *   employers' rows, rows outside the period and the blocks 10/012 does not grant: the heavy filter.
 *
 * The mix is a share of DmfA requests; subjects are drawn uniformly from the generated persons with a
 * fixed seed, so two runs send the same sequence.
 */
export type ExchangeKind = 'identification' | 'dmfa';

export interface BenchRequest {
  readonly kind: ExchangeKind;
  /** The institution whose requests topic carries it. */
  readonly requester: 'onva' | 'magda';
  /**
   * Which of its requests topics: `consultation` (its consultation application's consultation-requests
   * topic, answered on its consultations topic: ONVA, 19/010 §37) or `replies` (its requests topic,
   * answered on its replies topic: MAGDA).
   */
  readonly channel: Channel;
  readonly niss: string;
  /** ONSS number of the employer of the employer–worker link (DmfA only). */
  readonly employerId: string | null;
}

export interface LoadPlan {
  readonly persons: number;
  readonly dmfaShare: number;
  readonly identificationSubjects: number;
  readonly dmfaSubjects: number;
  /** The directory lines the gateway needs, in the store's form (written directly, as a rebuild does). */
  readonly directory: ReadonlyArray<{ readonly niss: string; readonly lines: readonly Integration[] }>;
  /** Blocks the gateway forwards to the source for each kind (the baseline sends the same). */
  readonly blocks: Readonly<Record<ExchangeKind, readonly string[]>>;
  next(): BenchRequest;
}

export const PERIOD = { from: '2024-01-01', to: '2024-12-31' } as const;
const INTEGRATED_FROM = '2023-01-01';
const SEED = 0xbe7c_4a11;

export function createLoadPlan(options: {
  readonly persons: number;
  readonly dmfaShare: number;
  readonly catalogue: Catalogue;
  readonly deliberations: readonly Deliberation[];
}): LoadPlan {
  const generated = generateSyntheticPersons(options.persons);
  const updatedAt = new Date('2025-01-01T00:00:00.000Z').toISOString();
  const identification: string[] = [];
  const dmfa: Array<{ niss: string; employerId: string }> = [];
  const directory: Array<{ niss: string; lines: Integration[] }> = [];
  for (const { person, employments } of generated) {
    const lines: Integration[] = [
      { niss: person.niss, institution: 'onva', capacity: 'inspection', phase: 1, period: { from: INTEGRATED_FROM, to: null }, updatedAt },
    ];
    identification.push(person.niss);
    // VAPH follows the assistant for one employer, as 10/012 §9 demands; interim agencies are left out
    // (their link needs the employer category too) and so are employers without an ONSS number yet.
    // An employment of 2024, so that the source has declarations to filter in the period asked.
    const employer = employments
      .filter((e) => e.inDate <= PERIOD.to && (e.outDate === null || e.outDate >= PERIOD.from))
      .map((e) => e.employer)
      .find((e) => e.onssNumber !== null && e !== SIMULATED_EMPLOYERS.interimAgency);
    if (employer?.onssNumber) {
      lines.push({
        niss: person.niss,
        institution: 'vaph',
        capacity: 'pab-assistant',
        phase: 1,
        period: { from: INTEGRATED_FROM, to: null },
        employer: { kind: 'ONSS', id: employer.onssNumber },
        updatedAt,
      });
      dmfa.push({ niss: person.niss, employerId: employer.onssNumber });
    }
    directory.push({ niss: person.niss, lines });
  }
  if (identification.length === 0) throw new Error('the load needs at least one person (--persons)');
  if (options.dmfaShare > 0 && dmfa.length === 0) throw new Error('no generated person can be asked for DmfA: raise --persons');

  const index = buildAuthorizationIndex(options.deliberations, options.catalogue);
  const today = new Date().toISOString().slice(0, 10);
  const blocksOf = (requester: string, onBehalfOf: string | null, service: string): readonly string[] => {
    const decision = decideAuthorization(index, { requester, onBehalfOf, service, purpose: null, requestedBlocks: null, date: today });
    if (!decision.ok) throw new Error(`the benchmark's ${service} requests are not authorized: ${decision.refusal.detail}`);
    return decision.allowedBlocks;
  };
  const blocks = {
    identification: blocksOf('onva', null, 'identification'),
    dmfa: blocksOf('magda', 'vaph', 'dmfa'),
  };

  const prng = createPrng(SEED);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(prng() * list.length)] as T;
  return {
    persons: generated.length,
    dmfaShare: options.dmfaShare,
    identificationSubjects: identification.length,
    dmfaSubjects: dmfa.length,
    directory,
    blocks,
    next() {
      if (prng() < options.dmfaShare) {
        const subject = pick(dmfa);
        return { kind: 'dmfa', requester: 'magda', channel: 'replies', niss: subject.niss, employerId: subject.employerId };
      }
      return { kind: 'identification', requester: 'onva', channel: 'consultation', niss: pick(identification), employerId: null };
    },
  };
}

export interface Outgoing {
  readonly topic: string;
  readonly message: OutMessage;
}

/** The topic a request is sent on: its requester's requests topic of its channel. */
export function requestTopic(topics: TopicNames, request: Pick<BenchRequest, 'requester' | 'channel'>): string {
  return request.channel === 'consultation' ? topics.consultationRequests(request.requester) : topics.requests(request.requester);
}

/** Where the gateway answers the benchmark's requests: ONVA's consultations topic and MAGDA's replies topic. */
export function gatewayAnswerTopics(topics: TopicNames): string[] {
  return [topics.consultations('onva'), topics.replies('magda')];
}

/** A Request as an institution sends it to the switch; `id` becomes its requestId. */
export function gatewayMessage(codec: AvroCodec, topics: TopicNames, request: BenchRequest, id: string, sentAt: number): Outgoing {
  const record: RequestRecord = {
    requestId: id,
    requester: request.requester,
    onBehalfOf: request.kind === 'dmfa' ? 'vaph' : null,
    service: request.kind,
    purpose: null,
    subjectNiss: request.niss,
    employer: request.employerId === null ? null : { kind: 'ONSS', id: request.employerId, category: null },
    period: { ...PERIOD },
    requestedBlocks: null,
    sentAt,
  };
  return { topic: requestTopic(topics, request), message: { key: request.niss, value: codec.encode(EXCHANGE_RECORD.request, record) } };
}

/**
 * For the baseline: the SourceRequest the gateway would have forwarded (same period, employer and
 * blocks), already in the source's form since the relay changes nothing; `id` is its ticket.
 */
export function baselineMessage(
  codec: AvroCodec,
  topics: TopicNames,
  plan: Pick<LoadPlan, 'blocks'>,
  request: BenchRequest,
  id: string,
  sentAt: number,
): Outgoing {
  const source = request.kind === 'dmfa' ? 'onss' : 'bcss-registers';
  const record: SourceRequestRecord = {
    ticket: id,
    service: request.kind,
    subjectNiss: request.niss,
    employer: request.employerId === null ? null : { kind: 'ONSS', id: request.employerId, category: null },
    period: { ...PERIOD },
    blocks: [...plan.blocks[request.kind]],
    deadline: sentAt + 30_000,
  };
  return {
    topic: requestTopic(topics, request),
    message: {
      key: request.niss,
      value: codec.encode(EXCHANGE_RECORD.sourceRequest, record),
      headers: { type: MESSAGE_TYPE.sourceRequest, ticket: id, [SOURCE_HEADER]: source },
    },
  };
}
