// The README's first command, `npm start`, as a newcomer runs it on a machine with no cluster
// configured: the demo starts its own control plane, authorization server and operator, shows
// a token being renewed, and stops cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '../support/net.ts';

const root = resolve(import.meta.dirname, '../..');

describe('npm start without a cluster', () => {
  it('runs the demo: a token lands in the Secret and is renewed, then everything stops on SIGTERM', async () => {
    const home = await mkdtemp(join(tmpdir(), 'token-renewer-home-'));
    const env: Record<string, string | undefined> = {
      ...process.env,
      HOME: home, // no ~/.kube/config there
      KUBECONFIG: undefined,
      // The control-plane binaries stay in the machine-wide cache of the real home.
      TOKEN_RENEWER_CACHE:
        process.env.TOKEN_RENEWER_CACHE ??
        join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'token-renewer'),
    };
    delete env.KUBECONFIG;
    const demo = spawn(process.execPath, [join(root, 'hack/demo.ts')], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    demo.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      // 30 s tokens renewed 10 s before expiry: the second token arrives about 20 s after the first.
      await waitFor(
        'two tokens in the demo Secret',
        async () => (output.match(/holds a new token/g) ?? []).length >= 2,
        60_000,
      );
      assert.match(output, /no cluster configured: starting a local control plane/);
      assert.match(output, /export KUBECONFIG=\S+kubeconfig-admin\.yaml/);
      const renewals = [...output.matchAll(/expires (\S+), renews (\S+); token requests so far: (\d+)/g)];
      assert.deepEqual(
        renewals.slice(0, 2).map((m) => m[3]),
        ['1', '2'],
        'one token request per token',
      );
      const [first, second] = renewals;
      assert.ok(
        Date.parse(second?.[1] ?? '') > Date.parse(first?.[1] ?? ''),
        'the renewed token expires later',
      );
      assert.ok(!/eyJ[\w-]+\.[\w-]+\./.test(output), 'the demo shows fingerprints, never a token');
    } finally {
      demo.kill('SIGTERM');
    }
    const [code] = (await once(demo, 'exit')) as [number | null];
    assert.equal(code, 0, output.slice(-2000));
    assert.match(output, /stopping/);
  });
});
