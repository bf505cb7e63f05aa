import { inject } from 'vitest';
import type { KafkaConnection } from '../../src/messaging/kafka-client.js';
import type { StackCredentials } from '../../src/stack/local-stack.js';

/** What the global setup hands to every integration test: a real broker and a real Redis. */
export interface TestStack {
  /** `cluster`: the environment names the local clustered stack (`stack up --cluster`), which the fault tests can stop and start. */
  readonly mode: 'env' | 'containers' | 'local' | 'cluster';
  readonly kafka: KafkaConnection;
  readonly redisUrl: string;
  /** Per-principal SCRAM passwords, when the harness knows them (local stack and containers). */
  readonly credentials: StackCredentials | null;
  readonly stackDir: string | null;
  /** The audit index's PostgreSQL (postgres://…): the local stack's, or BCSS_AUDIT_INDEX_URL; absent when none. */
  readonly auditIndexUrl?: string | null;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: TestStack;
  }
}

export function testStack(): TestStack {
  return inject('stack');
}

/** The connection of one principal (institution, source, gateway, auditor) on the test broker. */
export function connectionAs(stack: TestStack, principal: string): KafkaConnection {
  const password = stack.credentials?.principals[principal];
  if (!password) throw new Error(`the test stack has no credentials for principal ${principal}`);
  return { ...stack.kafka, sasl: { mechanism: 'scram-sha-512', username: principal, password } };
}
