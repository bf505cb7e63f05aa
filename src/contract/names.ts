/**
 * The names of the protocol: the full Avro name of every record (one schemas/*.avsc each, held to its
 * type by test/unit/contract-schemas.test.ts), the Kafka headers the switch and its parties set, and
 * the values of the `type` header. Headers carry routing data only, so that a reader can route or skip
 * a message without decoding it.
 */

/**
 * The exchange (an institution's Request and its Reply, the source's pair, the sweeper's deadline
 * event), and the two records every flow writes beside its own: the audit record and the dead letter.
 */
export const EXCHANGE_RECORD = {
  request: 'be.bcss.gateway.Request',
  reply: 'be.bcss.gateway.Reply',
  sourceRequest: 'be.bcss.gateway.SourceRequest',
  sourceReply: 'be.bcss.gateway.SourceReply',
  timeout: 'be.bcss.gateway.ExchangeTimeout',
  audit: 'be.bcss.gateway.AuditRecord',
  deadLetter: 'be.bcss.gateway.DeadLetter',
} as const;

/** The reference directory: an institution's commands, the changelog's snapshots, the acks. */
export const DIRECTORY_RECORD = {
  command: 'be.bcss.gateway.DirectoryCommand',
  snapshot: 'be.bcss.gateway.DirectorySnapshot',
  ack: 'be.bcss.gateway.DirectoryAck',
} as const;

/** Changes: what a source publishes, and what the switch delivers to each institution that follows the person. */
export const MUTATION_RECORD = {
  source: 'be.bcss.gateway.SourceMutation',
  delivered: 'be.bcss.gateway.Mutation',
} as const;

/** A deliberation the gateways apply, on the compacted `bcss.authorizations` topic. */
export const AUTHORIZATION_RECORD = 'be.bcss.gateway.AuthorizationSnapshot';

/** The sealer's signed link over a run of one audit partition, on `bcss.audit.seals`. */
export const AUDIT_SEAL_RECORD = 'be.bcss.gateway.AuditSeal';

/** The Kafka headers of the protocol, by name. */
export const HEADER = {
  /** What the message is (a {@link MESSAGE_TYPE} value): readers of a shared topic filter on it. */
  type: 'type',
  /** The exchange (or mutation delivery) a message belongs to. */
  ticket: 'ticket',
  /** An audit record's event type, so that a tail can filter without decoding. */
  event: 'event',
  /** A dead letter's reason code. */
  reason: 'reason',
  /** On `bcss.directory.commands`: the institution whose topic the checked command came from. */
  institution: 'institution',
  /** A source's change: its mutation id. */
  mutationId: 'mutationId',
  /** An audit seal's partition of the audit topic, and its place in that partition's chain. */
  partition: 'partition',
  sequence: 'sequence',
} as const;

/** Values of the `type` header. */
export const MESSAGE_TYPE = {
  reply: 'reply',
  directoryAck: 'directory-ack',
  sourceRequest: 'source-request',
  sourceReply: 'source-reply',
  sourceMutation: 'source-mutation',
  mutation: 'mutation',
  timeout: 'exchange-timeout',
  audit: 'audit',
  auditSeal: 'audit-seal',
  deadLetter: 'dead-letter',
} as const;
