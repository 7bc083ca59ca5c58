// `token-renewer renew NAME`: asks for one immediate renewal by setting the
// token-renewer.io/renew-requested-at annotation to the current time.
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Annotation, group, Plural, version } from '../api/index.ts';

export async function requestRenewal(
  kubeConfig: KubeConfig,
  namespace: string,
  name: string,
): Promise<string> {
  const requestedAt = new Date().toISOString();
  await kubeConfig.makeApiClient(CustomObjectsApi).patchNamespacedCustomObject(
    {
      group,
      version,
      plural: Plural.TokenRequest,
      namespace,
      name,
      body: { metadata: { annotations: { [Annotation.RenewRequestedAt]: requestedAt } } },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  return requestedAt;
}
