import { describe, expect, it } from 'vitest';
import { restartStackRedis } from '../../src/stack/local-stack.js';
import { createRedisClient } from '../../src/store/redis-connection.js';
import { uniqueName } from '../support/kafka-helpers.js';
import { testStack } from '../support/stack-context.js';

describe("the project's Redis keeps its data across a restart (append-only file)", () => {
  const stack = testStack();

  it.skipIf(stack.mode !== 'local')('a value written before a restart is there after it', async () => {
    const key = `${uniqueName('it:persist')}:value`;
    const before = createRedisClient(stack.redisUrl, { role: 'background' });
    await before.set(key, 'survives');
    // appendfsync everysec: a clean SHUTDOWN (SIGTERM) rewrites and syncs the AOF before exit.
    before.disconnect();
    await restartStackRedis(stack.stackDir ?? undefined);
    const after = createRedisClient(stack.redisUrl, { role: 'background' });
    try {
      expect(await after.get(key)).toBe('survives');
      expect(await after.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      await after.del(key);
    } finally {
      after.disconnect();
    }
  });
});
