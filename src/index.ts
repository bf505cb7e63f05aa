/**
 * What an institution's own code uses to take part in the exchange: the client that sends requests
 * and waits for their replies, the readable form of a reply, the connection of a principal, and the
 * identifier and period rules the switch applies (to check input before sending it).
 */
export {
  createExchangeClient,
  toExchangeReply,
  ExchangeClosedError,
  ExchangeRefusalError,
  ExchangeTimeoutError,
  ReplyDecodeError,
  REPLY_RECORD,
  REQUEST_RECORD,
  type ExchangeChannel,
  type ExchangeClient,
  type ExchangeClientOptions,
  type ExchangeOk,
  type ExchangeRefusal,
  type ExchangeReply,
  type LegalBasis,
  type ReceivedReplyRecord,
  type RequestManyOptions,
  type RequestOptions,
} from './client/exchange-client.js';
export {
  buildRequest,
  newRequestId,
  parseBlockList,
  requestKey,
  RequestInputError,
  type EmployerInput,
  type PeriodInput,
  type RawRequestRecord,
  type RequestInput,
  type RequestInputField,
} from './client/request-input.js';
/** The Request and Reply records as `schemas/request.avsc` and `reply.avsc` have them; timestamps in epoch ms. */
export type { ReplyRecord, ReplyStatus, RequestRecord } from './contract/exchange-records.js';
export { formatPeriod, formatReply, payloadJson, type PayloadFormat, type ReplyFormatOptions } from './client/reply-format.js';
export {
  principalConnection,
  principalPasswordVariable,
  PrincipalConnectionError,
  type PrincipalConnectionOptions,
} from './stack/principal-connection.js';
// principalConnection takes the settings: loadSettings() reads KAFKA_*, BCSS_PRINCIPAL_PASSWORD_<NAME>, ...
export { loadSettings, SettingsError, type Settings } from './app/settings.js';

export { formatNiss, isValidNiss, parseNiss, type NissResult, type ValidNiss, type InvalidNiss } from './domain/niss.js';
export { detectEmployerKind, parseEmployerId, type EmployerIdResult } from './domain/employer-id.js';
export { formatEnterpriseNumber, parseEnterpriseNumber } from './domain/enterprise-number.js';
export { parseOnssNumber } from './domain/onss-number.js';
export {
  expandQuarters,
  isIsoDate,
  parsePeriod,
  parseQuarter,
  quarterOf,
  quarterPeriod,
  type PeriodParseResult,
  type Quarter,
} from './domain/period.js';
export type { EmployerKind, EmployerRef, IsoDate, Period } from './domain/types.js';
export { isRefusalCode, REFUSAL_CODE_NAMES, REFUSAL_CODES, type RefusalCode } from './domain/refusal-codes.js';

export type { KafkaConnection, SaslMechanism } from './messaging/kafka-client.js';
export { MessagingError } from './messaging/kafka-client.js';
export { topicNames, type TopicNames } from './messaging/topics.js';
export { loadAvroCodec, type AvroCodec } from './messaging/avro-codec.js';
export { createLogger, type Logger } from './logging/logger.js';
