import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/config.ts';

describe('parseConfig: rate limits', () => {
  it('reads issuer and API-server rates, with bursts defaulting from them', () => {
    const result = parseConfig(['--issuer-qps=20', '--kube-api-qps=2.5'], {});
    assert.ok(result.ok);
    assert.equal(result.config.issuerQps, 20);
    assert.equal(result.config.issuerBurst, 20);
    assert.equal(result.config.kubeApiQps, 2.5);
    assert.equal(result.config.kubeApiBurst, 5);
  });

  it('takes explicit bursts, also from the environment', () => {
    const result = parseConfig(['--issuer-qps=20', '--issuer-burst=3'], {
      TOKEN_RENEWER_KUBE_API_QPS: '100',
      TOKEN_RENEWER_KUBE_API_BURST: '150',
    });
    assert.ok(result.ok);
    assert.deepEqual(
      [
        result.config.issuerQps,
        result.config.issuerBurst,
        result.config.kubeApiQps,
        result.config.kubeApiBurst,
      ],
      [20, 3, 100, 150],
    );
  });

  it('rejects negative or non-numeric rates and bursts below one', () => {
    const result = parseConfig(['--issuer-qps=-1', '--kube-api-qps=fast', '--kube-api-burst=0'], {});
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.deepEqual(
      result.problems.filter((p) => /qps|burst/.test(p)).length,
      3,
      result.problems.join('; '),
    );
  });
});
