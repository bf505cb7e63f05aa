/**
 * The channels' topics (src/messaging/topics.ts): a request of an institution's consultation application
 * travels on its consultation pair (19/010 §37), any other on its requests and replies topics.
 */
import { describe, expect, it } from 'vitest';
import { topicNames } from '../../src/messaging/topics.js';

describe('topicNames: the channels', () => {
  const topics = topicNames('t-1');

  it('the requests and answers topic of each channel', () => {
    expect(topics.requestsOn('replies', 'onva')).toBe('t-1.onva.requests');
    expect(topics.answersOn('replies', 'onva')).toBe('t-1.onva.replies');
    expect(topics.requestsOn('consultation', 'onva')).toBe('t-1.onva.consultation-requests');
    expect(topics.answersOn('consultation', 'onva')).toBe('t-1.onva.consultations');
    expect(topics.requestsOn('consultation', 'onva')).toBe(topics.consultationRequests('onva'));
    expect(topics.answersOn('consultation', 'onva')).toBe(topics.consultations('onva'));
  });

  it('the channel of a requests topic, read back from its name', () => {
    expect(topics.channelOf('t-1.onva.consultation-requests')).toBe('consultation');
    expect(topics.channelOf('t-1.onva.requests')).toBe('replies');
    // Another prefix's consultation topic is not this switch's.
    expect(topics.channelOf('bcss.onva.consultation-requests')).toBe('replies');
    for (const channel of ['replies', 'consultation'] as const) expect(topics.channelOf(topics.requestsOn(channel, 'vaph'))).toBe(channel);
  });

  it('refuses an id that is not an institution id, as every other name does', () => {
    expect(() => topics.requestsOn('consultation', 'Bad.Id')).toThrow(/invalid institution id/);
    expect(() => topics.answersOn('replies', 'source')).toThrow(/reserved word/);
  });
});
