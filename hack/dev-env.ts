// The local development environment: a real control plane with the CRDs installed and a real
// authorization server, kept running until Ctrl-C. `npm start` runs it.
import { startAuthServer } from '../test/support/auth-server.ts';
import { startControlPlane } from '../test/support/control-plane.ts';
import { installCrds } from '../test/support/crds.ts';

const log = (line: string) => console.error(`[dev-env] ${line}`);

const controlPlane = await startControlPlane({ log });
await installCrds(controlPlane.kubeConfig());
const auth = await startAuthServer({ tokenTTLSeconds: 60 });
const { basic } = auth.clients;

console.log(`
Local control plane and authorization server are running. Press Ctrl-C to stop them.

  export KUBECONFIG=${controlPlane.kubeconfigPath('admin')}
  export PATH=${controlPlane.binDir}:$PATH
  kubectl get crds
  kubectl apply -f examples/

Authorization server (oidc-provider, JWT access tokens, ${auth.tokenTTLSeconds()} s lifetime):
  issuer:         ${auth.issuerIdentifier}
  token endpoint: ${auth.tokenEndpoint.href}
  demo client:    ${basic.clientId} (client_secret_basic)

  curl -s -u ${basic.clientId}:${basic.clientSecret} -d grant_type=client_credentials \\
    -d scope=orders.read ${auth.tokenEndpoint.href}
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    await auth.close();
    await controlPlane.stop();
    process.exit(0);
  });
}
