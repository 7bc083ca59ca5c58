// deploy/ applied to the real API server the way a user would (kubectl apply -k), and
// ServiceAccount tokens minted through the TokenRequest API, so that tests run the operator
// under exactly the identity and permissions deploy/ gives it.
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { kubeConfigFor } from './control-plane.ts';

const run = promisify(execFile);
export const deployDir = resolve(import.meta.dirname, '../../deploy');

/** `kubectl <args>` with the given kubeconfig file; stdin optional. Throws with kubectl's stderr. */
export async function kubectl(binDir: string, kubeconfigPath: string, args: string[], stdin?: string) {
  const child = run(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfigPath, ...args], {
    maxBuffer: 16 << 20,
  });
  if (stdin !== undefined) child.child.stdin?.end(stdin);
  try {
    return (await child).stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim() || (err as Error).message}`);
  }
}

/** A kubeconfig for a ServiceAccount, with a token minted by the TokenRequest API. */
export async function serviceAccountKubeConfig(
  admin: KubeConfig,
  namespace: string,
  name: string,
  expirationSeconds = 6 * 3600,
): Promise<KubeConfig> {
  const minted = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace,
    name,
    body: { spec: { audiences: [], expirationSeconds } },
  });
  const cluster = admin.getCurrentCluster();
  if (!cluster || !minted.status?.token) throw new Error(`no token minted for ${namespace}/${name}`);
  return kubeConfigFor(
    cluster.server,
    cluster.caData ?? '',
    `system:serviceaccount:${namespace}:${name}`,
    minted.status.token,
  );
}
