// Global setup of the integration tests (node --test --test-global-setup): one control plane
// for the whole run, with the CRDs installed and deploy/ applied as a user would, and a
// kubeconfig for the operator's ServiceAccount, so every in-process operator runs with exactly
// the permissions deploy/ grants. Test files run in child processes and find the control
// plane through the environment variable set here.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { clusterEnvVar } from './cluster.ts';
import { type ControlPlane, startControlPlane } from './control-plane.ts';
import { installCrds } from './crds.ts';
import { deployDir, kubectl, serviceAccountKubeConfig } from './deploy.ts';

let controlPlane: ControlPlane | undefined;

const log = (line: string) => console.error(`[test-cluster] ${line}`);

export async function globalSetup(): Promise<void> {
  const started = Date.now();
  controlPlane = await startControlPlane({ log });
  log(`control plane started in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  const admin = controlPlane.kubeConfig();
  await installCrds(admin);
  log('CRDs installed');
  await kubectl(controlPlane.binDir, controlPlane.kubeconfigPath(), ['apply', '-k', deployDir]);
  const operatorConfig = join(controlPlane.dir, 'kubeconfig-operator.yaml');
  await writeFile(
    operatorConfig,
    (await serviceAccountKubeConfig(admin, 'token-renewer', 'token-renewer')).exportConfig(),
    {
      mode: 0o600,
    },
  );
  log('deploy/ applied; operator identity: system:serviceaccount:token-renewer:token-renewer');
  process.env[clusterEnvVar] = JSON.stringify({
    admin: controlPlane.kubeconfigPath('admin'),
    restricted: controlPlane.kubeconfigPath('restricted'),
    operator: operatorConfig,
    binDir: controlPlane.binDir,
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      void globalTeardown().finally(() => process.exit(130));
    });
  }
}

export async function globalTeardown(): Promise<void> {
  const cp = controlPlane;
  controlPlane = undefined;
  if (!cp) return;
  await cp.stop();
  log('control plane stopped');
}
