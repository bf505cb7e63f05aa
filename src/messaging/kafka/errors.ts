/** Kafka's error types that mean "you may not": they never become retries. */
const ACCESS_DENIED = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
]);

export class MessagingError extends Error {
  override readonly name = 'MessagingError';
  constructor(
    /** Kafka's error type (e.g. TOPIC_AUTHORIZATION_FAILED) or the kafkajs error name. */
    readonly type: string,
    readonly retriable: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get accessDenied(): boolean {
    return ACCESS_DENIED.has(this.type);
  }
}

/** Finds Kafka's own error type inside kafkajs's wrappers (retries wrap the protocol error). */
export function toMessagingError(error: unknown): MessagingError {
  if (error instanceof MessagingError) return error;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    const e = current as { type?: unknown; name?: unknown; retriable?: unknown; message?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof e.type === 'string') {
      return new MessagingError(e.type, e.retriable === true, String(e.message), { cause: error });
    }
    if (e.name === 'KafkaJSSASLAuthenticationError') {
      return new MessagingError('SASL_AUTHENTICATION_FAILED', false, String(e.message), { cause: error });
    }
    current = e.originalError ?? e.cause;
  }
  const e = error as { name?: unknown; message?: unknown; retriable?: unknown } | undefined;
  return new MessagingError(
    typeof e?.name === 'string' ? e.name : 'UNKNOWN',
    e?.retriable === true,
    typeof e?.message === 'string' ? e.message : String(error),
    { cause: error },
  );
}

export async function translated<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toMessagingError(error);
  }
}

/**
 * Repeats an operation while `shouldRetry` says the failure is passing, with a growing pause. Reads
 * that are safe to repeat use the default: any retriable Kafka error (a leader moving, metadata not yet
 * current).
 */
export async function retrying<T>(
  operation: () => Promise<T>,
  { attempts = 8, shouldRetry = (error: MessagingError) => error.retriable } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const failure = toMessagingError(error);
      if (!shouldRetry(failure) || attempt >= attempts) throw failure;
      await new Promise((r) => setTimeout(r, 20 * 2 ** Math.min(attempt, 6)));
    }
  }
}
