// `npm start`: the operator's main job. With a cluster configured ($KUBECONFIG or
// ~/.kube/config) it runs the operator against it; with none, a local demo: a real control
// plane, a real authorization server issuing 30-second tokens, the operator, and an example
// TokenRequest whose renewals are printed as they happen (a fingerprint of each token, never
// the token itself).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { runOperator } from '../src/cli/run.ts';
import { parseConfig } from '../src/config/config.ts';
import { jsonLogger } from '../src/log/logger.ts';
import { startAuthServer } from '../test/support/auth-server.ts';
import { freshNamespace } from '../test/support/cluster.ts';
import { startControlPlane } from '../test/support/control-plane.ts';
import { installCrds } from '../test/support/crds.ts';
import { scenario } from '../test/support/scenario.ts';

const configured = process.env.KUBECONFIG || existsSync(join(homedir(), '.kube', 'config'));
if (configured) {
  console.error('A cluster is configured: running the operator against it (token-renewer run).');
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, '../src/cli/main.ts'), 'run', ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  child.on('exit', (code) => process.exit(code ?? 1));
} else {
  await demo();
}

async function demo(): Promise<void> {
  const say = (line: string) => console.log(`[demo ${new Date().toISOString().slice(11, 19)}] ${line}`);
  say('no cluster configured: starting a local control plane and authorization server');
  const controlPlane = await startControlPlane({ log: (line) => say(line) });
  const kc = controlPlane.kubeConfig();
  await installCrds(kc);
  const auth = await startAuthServer({ tokenTTLSeconds: 30 });
  const namespace = await freshNamespace(kc, 'demo');
  const parsed = parseConfig(
    [
      `--namespaces=${namespace}`,
      '--allow-insecure-http',
      '--allow-endpoint-cidrs=127.0.0.0/8',
      '--min-safe-lead=5s',
      '--metrics-address=127.0.0.1:0',
      '--health-address=127.0.0.1:0',
      '--leader-elect=false', // one replica, and no token-renewer namespace in the demo cluster
    ],
    {},
  );
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const logs: string[] = [];
  const operator = await runOperator(
    kc,
    parsed.config,
    jsonLogger('info', (line) => logs.push(line)),
  );

  const s = scenario(kc, namespace);
  await s.createIssuer('demo-idp', auth);
  await s.createTokenRequest('orders-api', {
    issuerRef: { name: 'demo-idp' },
    scopes: ['orders.read'],
    renewBefore: '10s',
  });
  say(`TokenRequest ${namespace}/orders-api created: 30 s tokens, renewed 10 s before expiry`);
  say(`  export KUBECONFIG=${controlPlane.kubeconfigPath()} PATH=${controlPlane.binDir}:$PATH`);
  say(
    `  kubectl get tokenrequests -n ${namespace}     # metrics: http://127.0.0.1:${operator.metricsPort}/metrics`,
  );
  say('Ctrl-C stops everything.');

  let last: string | undefined;
  const timer = setInterval(async () => {
    const secret = await s.getSecret('orders-api').catch(() => undefined);
    const token = secret?.data?.token;
    if (!token || token === last) return;
    last = token;
    const fingerprint = createHash('sha256').update(token).digest('hex').slice(0, 12);
    const a = secret.metadata?.annotations ?? {};
    say(
      `Secret orders-api holds a new token (sha256 ${fingerprint}…): expires ${a['token-renewer.io/expires-at']}, renews ${a['token-renewer.io/renew-at']}; token requests so far: ${auth.totalTokenRequests()}`,
    );
  }, 500);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(timer);
  say('stopping');
  await operator.stop();
  await auth.close();
  await controlPlane.stop();
}
