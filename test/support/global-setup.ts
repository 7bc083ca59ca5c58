// Global setup of the integration tests (node --test --test-global-setup): one control plane
// for the whole run, with the CRDs installed. Test files run in child processes and find the
// control plane through the environment variable set here.

import { clusterEnvVar } from './cluster.ts';
import { type ControlPlane, startControlPlane } from './control-plane.ts';
import { installCrds } from './crds.ts';

let controlPlane: ControlPlane | undefined;

const log = (line: string) => console.error(`[test-cluster] ${line}`);

export async function globalSetup(): Promise<void> {
  const started = Date.now();
  controlPlane = await startControlPlane({ log });
  log(`control plane started in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  await installCrds(controlPlane.kubeConfig());
  log('CRDs installed');
  process.env[clusterEnvVar] = JSON.stringify({
    admin: controlPlane.kubeconfigPath('admin'),
    restricted: controlPlane.kubeconfigPath('restricted'),
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
