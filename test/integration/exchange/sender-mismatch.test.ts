import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyRecord, RequestRecord } from '../../../src/contract/exchange-records.js';
import { SIMULATED, SIMULATED_EMPLOYERS } from '../../../src/sources/synthetic-population.js';
import type { CollectedMessage } from '../../support/exchange-fixture.js';
import {
  collectedReplies,
  expectAudited,
  expectEveryExchangeClosedOnce,
  expectRefusal,
  period,
  startSwitch,
  type RunningSwitch,
} from './exchange-scenario.js';

const E = SIMULATED_EMPLOYERS;

/** IRISCARE's own, answerable request about its care worker. */
const IRISCARE_DMFA: Partial<RequestRecord> = {
  service: 'dmfa',
  subjectNiss: SIMULATED.careWorkerIriscare,
  employer: { kind: 'ONSS', id: E.careHome.onssNumber, category: null },
  period: period('2024-01-01', '2024-12-31'),
};

describe('exchange: SENDER_MISMATCH — the requests topic, not the message, says who asks', () => {
  let sw: RunningSwitch;

  beforeAll(async () => {
    sw = await startSwitch({
      integrations: [
        { institution: 'iriscare', niss: SIMULATED.careWorkerIriscare, capacity: 'care-worker', phase: 1, from: '2023-01-01', to: null, employer: { kind: 'ONSS', id: E.careHome.onssNumber } },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    await sw?.fx.closeAtOnce();
  }, 60_000);

  /** Publishes `record` on `topicOwner`'s requests topic and returns the one reply with the topic it came on. */
  async function sendOn(topicOwner: string, record: RequestRecord): Promise<CollectedMessage<ReplyRecord>> {
    await sw.fx.send(topicOwner, record);
    await sw.replies.waitFor((ms) => ms.some((m) => m.value?.requestId === record.requestId), `the reply to ${record.requestId}`);
    const found = collectedReplies(sw).filter((m) => m.value.requestId === record.requestId);
    expect(found).toHaveLength(1);
    return found[0] as CollectedMessage<ReplyRecord>;
  }

  it('a request on VAPH’s topic naming IRISCARE as requester is refused, and the refusal goes back to VAPH only', async () => {
    const record = sw.fx.requestRecord('iriscare', IRISCARE_DMFA);
    const reply = await sendOn('vaph', record);
    expect(reply.topic).toBe(sw.fx.topics.replies('vaph'));
    expectRefusal(reply.value, 'SENDER_MISMATCH', null);
    expect(reply.value.legalBasis).toBeNull();
    expect(reply.value.message).toContain('iriscare');
    // The audit names the institution that really sent it.
    await expectAudited(sw, reply.value, {
      event: 'REQUEST_REFUSED',
      requester: 'vaph',
      intermediary: null,
      service: 'dmfa',
      deliberation: null,
      subjectNiss: SIMULATED.careWorkerIriscare,
    });
  });

  it('the same request on IRISCARE’s own topic is answered: only the sender was wrong', async () => {
    const reply = await sendOn('iriscare', sw.fx.requestRecord('iriscare', IRISCARE_DMFA));
    expect(reply.topic).toBe(sw.fx.topics.replies('iriscare'));
    expect(reply.value.status).toBe('OK');
    await expectAudited(sw, reply.value, { event: 'REPLY_DELIVERED', requester: 'iriscare', deliberation: '19/104' });
  });

  it('the sender is checked first: an unknown service and a bad NISS under a false requester are SENDER_MISMATCH', async () => {
    const reply = await sendOn('vaph', sw.fx.requestRecord('iriscare', { service: 'no-such-service', subjectNiss: '123' }));
    expect(reply.topic).toBe(sw.fx.topics.replies('vaph'));
    expectRefusal(reply.value, 'SENDER_MISMATCH', null);
    await expectAudited(sw, reply.value, { event: 'REQUEST_REFUSED', requester: 'vaph', deliberation: null });
  });

  it('VAPH posing as MAGDA relaying for VAPH (to get round 10/012’s mandatory relay) is SENDER_MISMATCH', async () => {
    const record = sw.fx.requestRecord('magda', {
      onBehalfOf: 'vaph',
      service: 'dmfa',
      subjectNiss: SIMULATED.assistantOfVaph,
      employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber, category: null },
    });
    const reply = await sendOn('vaph', record);
    expect(reply.topic).toBe(sw.fx.topics.replies('vaph'));
    expectRefusal(reply.value, 'SENDER_MISMATCH', null);
    // Nothing was relayed: VAPH sent it itself.
    await expectAudited(sw, reply.value, { event: 'REQUEST_REFUSED', requester: 'vaph', intermediary: null, deliberation: null });
  });

  it('MAGDA naming VAPH as requester on MAGDA’s topic is SENDER_MISMATCH too: a relay names itself and uses onBehalfOf', async () => {
    const record = sw.fx.requestRecord('vaph', {
      service: 'dmfa',
      subjectNiss: SIMULATED.assistantOfVaph,
      employer: { kind: 'ONSS', id: E.budgetHolder.onssNumber, category: null },
    });
    const reply = await sendOn('magda', record);
    expect(reply.topic).toBe(sw.fx.topics.replies('magda'));
    expectRefusal(reply.value, 'SENDER_MISMATCH', null);
    await expectAudited(sw, reply.value, { event: 'REQUEST_REFUSED', requester: 'magda', intermediary: null });
  });

  it('every request of this file got exactly one reply and one outcome audit record', async () => {
    await expectEveryExchangeClosedOnce(sw);
  });
});
