/**
 * Every topic name is built here and nowhere else. The prefix is configuration (default `bcss`); the
 * institution in a requests topic's name IS the sender's identity, so names are validated strictly.
 */
import type { Channel } from '../domain/exchange.js';

const ID_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
/** Words that are topic-name segments of the switch itself, so no institution may be called so. */
const RESERVED_IDS = new Set(['source', 'directory', 'audit', 'deadletter', 'authorizations', 'exchange']);

export function assertEntityId(id: string, what = 'institution'): string {
  if (!ID_PATTERN.test(id)) throw new Error(`invalid ${what} id ${JSON.stringify(id)}: lowercase letters, digits and '-'`);
  if (RESERVED_IDS.has(id)) throw new Error(`invalid ${what} id ${JSON.stringify(id)}: reserved word`);
  return id;
}

export interface TopicNames {
  readonly prefix: string;
  requests(institution: string): string;
  replies(institution: string): string;
  mutations(institution: string): string;
  directory(institution: string): string;
  /** Requests of an institution's consultation application (19/010 §37: consultation, no storage). */
  consultationRequests(institution: string): string;
  /** Their answers, read only by that application; short retention. */
  consultations(institution: string): string;
  /** Where an institution's requests of a channel are published. */
  requestsOn(channel: Channel, institution: string): string;
  /** Where their answers go: the replies topic, or the consultations topic for the consultation channel. */
  answersOn(channel: Channel, institution: string): string;
  /** The channel of a topic that carries requests (a consultation-requests topic, or any other). */
  channelOf(requestsTopic: string): Channel;
  sourceRequests(source: string): string;
  sourceReplies(source: string): string;
  sourceMutations(source: string): string;
  readonly directoryChangelog: string;
  /** Checked directory commands of every institution, keyed by NISS: one writer per person at a time. */
  readonly directoryCommands: string;
  readonly authorizations: string;
  readonly audit: string;
  readonly auditSeals: string;
  readonly deadLetter: string;
  /** Internal: the deadline sweeper's timer events, keyed by ticket, consumed by the reply pipeline. */
  readonly exchangeTimeouts: string;
  /** Regular expressions matching every institution's requests / directory topics and every source's replies / mutations. */
  readonly patterns: {
    readonly requests: RegExp;
    readonly consultationRequests: RegExp;
    readonly directory: RegExp;
    readonly sourceReplies: RegExp;
    readonly sourceMutations: RegExp;
  };
  /** The institution (or source) a topic belongs to, or null when the name does not fit the pattern. */
  institutionOf(topic: string): string | null;
}

/**
 * The prefix every consumer group and transactional id of `principal` starts with: the naming rule
 * every client of the switch follows, and what the ACLs grant on (PREFIXED).
 */
export function clientIdPrefix(topics: TopicNames, principal: string): string {
  return `${topics.prefix}.${principal}.`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function topicNames(prefix = 'bcss'): TopicNames {
  if (!/^[a-zA-Z0-9._-]+$/.test(prefix)) throw new Error(`invalid topic prefix ${JSON.stringify(prefix)}`);
  const p = escape(prefix);
  const inst = '([a-z][a-z0-9-]{0,62})';
  const requests = new RegExp(`^${p}\\.(?!source\\.)${inst}\\.requests$`);
  const consultationRequests = new RegExp(`^${p}\\.(?!source\\.)${inst}\\.consultation-requests$`);
  const directory = new RegExp(`^${p}\\.(?!source\\.)${inst}\\.directory$`);
  const sourceReplies = new RegExp(`^${p}\\.source\\.${inst}\\.replies$`);
  const sourceMutations = new RegExp(`^${p}\\.source\\.${inst}\\.mutations$`);
  const all = [requests, consultationRequests, directory, sourceReplies, sourceMutations];
  return {
    prefix,
    requests: (i) => `${prefix}.${assertEntityId(i)}.requests`,
    replies: (i) => `${prefix}.${assertEntityId(i)}.replies`,
    mutations: (i) => `${prefix}.${assertEntityId(i)}.mutations`,
    directory: (i) => `${prefix}.${assertEntityId(i)}.directory`,
    consultationRequests: (i) => `${prefix}.${assertEntityId(i)}.consultation-requests`,
    consultations: (i) => `${prefix}.${assertEntityId(i)}.consultations`,
    requestsOn: (channel, i) => `${prefix}.${assertEntityId(i)}.${channel === 'consultation' ? 'consultation-requests' : 'requests'}`,
    answersOn: (channel, i) => `${prefix}.${assertEntityId(i)}.${channel === 'consultation' ? 'consultations' : 'replies'}`,
    channelOf: (topic) => (consultationRequests.test(topic) ? 'consultation' : 'replies'),
    sourceRequests: (s) => `${prefix}.source.${assertEntityId(s, 'source')}.requests`,
    sourceReplies: (s) => `${prefix}.source.${assertEntityId(s, 'source')}.replies`,
    sourceMutations: (s) => `${prefix}.source.${assertEntityId(s, 'source')}.mutations`,
    directoryChangelog: `${prefix}.directory.changelog`,
    directoryCommands: `${prefix}.directory.commands`,
    authorizations: `${prefix}.authorizations`,
    audit: `${prefix}.audit`,
    auditSeals: `${prefix}.audit.seals`,
    deadLetter: `${prefix}.deadletter`,
    exchangeTimeouts: `${prefix}.exchange.timeouts`,
    patterns: { requests, consultationRequests, directory, sourceReplies, sourceMutations },
    institutionOf(topic) {
      for (const pattern of all) {
        const match = pattern.exec(topic);
        if (match?.[1]) return match[1];
      }
      return null;
    },
  };
}
