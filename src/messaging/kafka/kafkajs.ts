import { createRequire, Module } from 'node:module';
import type * as Kafkajs from 'kafkajs';
import { createSendMessages } from './send-messages.js';

/**
 * kafkajs, as every module of src/messaging loads it: with its produce path replaced by
 * `send-messages.ts` (kafkajs 2.2.4 can lose the messages of a partition whose leader moved during a
 * send). The replacement goes into Node's module cache where kafkajs's producer will require it; if
 * kafkajs's producer was loaded before (something imported kafkajs first), its copy cannot be
 * replaced, and nothing may produce with it: this module refuses to load.
 */

const require = createRequire(import.meta.url);
const sendMessagesPath = require.resolve('kafkajs/src/producer/sendMessages.js');
const messageProducerPath = require.resolve('kafkajs/src/producer/messageProducer.js');

/** Marks the replacement: a module graph evaluated again in the same process (a test runner) finds it in place. */
const REPLACED = Symbol.for('bcss.kafkajs.sendMessages');

const cached = require.cache[sendMessagesPath] as (Module & { [REPLACED]?: true }) | undefined;
if (!cached?.[REPLACED]) {
  if (require.cache[messageProducerPath]) {
    throw new Error('kafkajs was loaded before src/messaging/kafka/kafkajs.ts could replace its produce path: import kafkajs only through that module');
  }
  const replacement = new Module(sendMessagesPath);
  replacement.filename = sendMessagesPath;
  replacement.loaded = true;
  replacement.exports = createSendMessages;
  Object.assign(replacement, { [REPLACED]: true });
  require.cache[sendMessagesPath] = replacement;
}

const kafkajs = require('kafkajs') as typeof Kafkajs;
export default kafkajs;
