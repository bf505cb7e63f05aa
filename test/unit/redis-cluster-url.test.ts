import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clusterRedisUrl, parseClusterUrl } from '../../src/store/redis-connection.js';

// Made up per run: a literal password in a tracked file is what the secret scan refuses.
const PW = `p${Math.random().toString(36).slice(2, 10)}`;

describe('the Redis connection setting: one server or a cluster', () => {
  it('reads a cluster setting: seed nodes and password', () => {
    expect(parseClusterUrl(`redis-cluster://:${PW}@127.0.0.1:17001,127.0.0.1:17002,redis-3.internal:6379`)).toEqual({
      nodes: [
        { host: '127.0.0.1', port: 17001 },
        { host: '127.0.0.1', port: 17002 },
        { host: 'redis-3.internal', port: 6379 },
      ],
      password: PW,
    });
    expect(parseClusterUrl(`redis-cluster://ops:${PW}@10.0.0.1:7000`)).toEqual({ nodes: [{ host: '10.0.0.1', port: 7000 }], username: 'ops', password: PW });
    expect(parseClusterUrl('redis-cluster://10.0.0.1:7000')).toEqual({ nodes: [{ host: '10.0.0.1', port: 7000 }] });
  });

  it('leaves a single server URL to ioredis', () => {
    expect(parseClusterUrl(`redis://:${PW}@127.0.0.1:16379`)).toBeNull();
    expect(parseClusterUrl('rediss://127.0.0.1:6380/2')).toBeNull();
  });

  it('refuses a node without a port, naming it', () => {
    expect(() => parseClusterUrl(`redis-cluster://:${PW}@127.0.0.1:17001,127.0.0.1`)).toThrow(/invalid Redis Cluster node "127.0.0.1"/);
    expect(() => parseClusterUrl(`redis-cluster://:${PW}@`)).toThrow(/invalid Redis Cluster node/);
  });

  it('writes what it reads, whatever the password holds', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.array(fc.record({ host: fc.constantFrom('127.0.0.1', 'redis-a', 'r.example.be'), port: fc.integer({ min: 1, max: 65535 }) }), { minLength: 1, maxLength: 6 }),
        (password, nodes) => {
          expect(parseClusterUrl(clusterRedisUrl(nodes, password))).toEqual({ nodes, password });
        },
      ),
    );
  });
});
