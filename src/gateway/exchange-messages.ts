import type { IsoDate } from '../domain/types.js';
import type { TopicNames } from '../messaging/topics.js';

/** The UTC day of an instant: the day the switch decides a request for. */
export function dayOf(epochMs: number): IsoDate {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/**
 * Where the answer to a request goes: the institution's replies topic, or, for a request of its
 * consultation application, the consultations topic only that application reads (19/010 §37).
 */
export function replyTopic(topics: TopicNames, institution: string, channel: 'replies' | 'consultation'): string {
  return channel === 'consultation' ? topics.consultations(institution) : topics.replies(institution);
}
