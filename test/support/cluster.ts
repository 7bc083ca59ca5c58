// What an integration test sees of the shared control plane: kubeconfigs per identity and a
// fresh namespace per test (namespaces never finish deleting here, so names must be unique).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { type Identity, kubeConfigFor } from './control-plane.ts';

export const clusterEnvVar = 'TOKEN_RENEWER_TEST_CLUSTER';

/** The static identities, and `operator`: the ServiceAccount deploy/ creates, with its RBAC. */
export type ClusterIdentity = Identity | 'operator';

export interface TestCluster {
  kubeConfig(identity?: ClusterIdentity): KubeConfig;
  kubeconfigPath(identity?: ClusterIdentity): string;
  /** Directory of kubectl, kube-apiserver and etcd. */
  binDir: string;
  /** Path of the kubectl built with the control plane. */
  kubectl: string;
}

export function testCluster(): TestCluster {
  const raw = process.env[clusterEnvVar];
  if (!raw) {
    throw new Error(`${clusterEnvVar} is not set: run integration tests with "npm run test:integration"`);
  }
  const paths = JSON.parse(raw) as Record<ClusterIdentity | 'binDir', string>;
  return {
    binDir: paths.binDir,
    kubectl: join(paths.binDir, 'kubectl'),
    kubeconfigPath: (identity = 'admin') => paths[identity],
    kubeConfig(identity = 'admin') {
      const kc = new KubeConfig();
      kc.loadFromFile(paths[identity]);
      return kc;
    },
  };
}

export async function freshNamespace(kc: KubeConfig, prefix = 'test'): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  return name;
}

/** The same cluster as `kc`, authenticated by a bearer token (e.g. a ServiceAccount's). */
export function kubeConfigForToken(kc: KubeConfig, token: string): KubeConfig {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  return kubeConfigFor(cluster.server, cluster.caData ?? '', 'token', token);
}
