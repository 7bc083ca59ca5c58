// Building blocks of end-to-end scenarios: a namespace with an issuer pointing at the test
// authorization server (directly or through the fault proxy), TokenRequests, and waits on
// what the operator writes. All reads go to the real API server.
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Secret,
} from '@kubernetes/client-node';
import {
  apiVersion,
  type ClusterTokenIssuerSpec,
  group,
  Plural,
  type TokenIssuer,
  type TokenIssuerSpec,
  type TokenRequest,
  type TokenRequestSpec,
  version,
} from '../../src/api/index.ts';
import { findCondition } from '../../src/renewal/index.ts';
import type { AuthServer } from './auth-server.ts';
import { waitFor } from './net.ts';

export type ClientKind = 'basic' | 'post' | 'privateKeyJwt' | 'none';

export interface IssuerOptions {
  client?: ClientKind;
  issuerURL?: string;
  tokenEndpoint?: string;
  spec?: Partial<TokenIssuerSpec>;
}

const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function scenario(kc: KubeConfig, namespace: string) {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const target = (plural: string) => ({ group, version, namespace, plural });

  const api = {
    core,
    custom,
    namespace,

    /** Creates the credentials Secret and a TokenIssuer for one of the server's clients. */
    async createIssuer(name: string, auth: AuthServer, options: IssuerOptions = {}): Promise<void> {
      const spec = issuerSpec(name, auth, options);
      await api.createCredentials(name, auth, options.client ?? 'basic');
      await custom.createNamespacedCustomObject({
        ...target(Plural.TokenIssuer),
        body: { apiVersion, kind: 'TokenIssuer', metadata: { name }, spec },
      });
    },

    /** The Secret an issuer named `name` references (`<name>-credentials`). */
    async createCredentials(name: string, auth: AuthServer, client: ClientKind, inNamespace = namespace) {
      const c = auth.clients[client];
      const stringData: Record<string, string> =
        'clientSecret' in c
          ? { 'client-secret': c.clientSecret }
          : 'privateKeyPem' in c
            ? { 'tls.key': c.privateKeyPem }
            : {};
      if (Object.keys(stringData).length === 0) return;
      await core.createNamespacedSecret({
        namespace: inNamespace,
        body: { metadata: { name: `${name}-credentials` }, stringData },
      });
    },

    async createClusterIssuer(name: string, spec: ClusterTokenIssuerSpec): Promise<void> {
      await custom.createClusterCustomObject({
        group,
        version,
        plural: Plural.ClusterTokenIssuer,
        body: { apiVersion, kind: 'ClusterTokenIssuer', metadata: { name }, spec },
      });
    },

    async createTokenRequest(name: string, spec: TokenRequestSpec): Promise<TokenRequest> {
      return (await custom.createNamespacedCustomObject({
        ...target(Plural.TokenRequest),
        body: { apiVersion, kind: 'TokenRequest', metadata: { name }, spec },
      })) as TokenRequest;
    },

    async patchTokenRequest(name: string, patch: object): Promise<TokenRequest> {
      return (await custom.patchNamespacedCustomObject(
        { ...target(Plural.TokenRequest), name, body: patch },
        merge,
      )) as TokenRequest;
    },

    async getIssuer(name: string): Promise<TokenIssuer> {
      return (await custom.getNamespacedCustomObject({ ...target(Plural.TokenIssuer), name })) as TokenIssuer;
    },

    async patchIssuer(name: string, patch: object): Promise<void> {
      await custom.patchNamespacedCustomObject({ ...target(Plural.TokenIssuer), name, body: patch }, merge);
    },

    async getTokenRequest(name: string): Promise<TokenRequest> {
      return (await custom.getNamespacedCustomObject({
        ...target(Plural.TokenRequest),
        name,
      })) as TokenRequest;
    },

    async getSecret(name: string): Promise<V1Secret | undefined> {
      try {
        return await core.readNamespacedSecret({ namespace, name });
      } catch (err) {
        if ((err as { code?: number }).code === 404) return undefined;
        throw err;
      }
    },

    /** The token in the Secret, decoded, or undefined. */
    async token(secretName: string): Promise<string | undefined> {
      const value = (await api.getSecret(secretName))?.data?.token;
      return value === undefined ? undefined : Buffer.from(value, 'base64').toString();
    },

    /** Waits until the TokenRequest's condition has the status (and reason, if given). */
    async waitForCondition(
      name: string,
      type: string,
      status: 'True' | 'False',
      reason?: string,
      timeoutMs = 30_000,
    ): Promise<TokenRequest> {
      let last: TokenRequest | undefined;
      await waitFor(
        `${namespace}/${name} ${type}=${status}${reason ? `/${reason}` : ''}`,
        async () => {
          last = await api.getTokenRequest(name);
          const c = findCondition(last.status?.conditions, type);
          return c?.status === status && (reason === undefined || c.reason === reason);
        },
        timeoutMs,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; last conditions: ${JSON.stringify(last?.status?.conditions ?? [])}`);
      });
      return last as TokenRequest;
    },

    /** Waits until the Secret holds a token different from `previous`; returns it. */
    async waitForNewToken(
      secretName: string,
      previous: string | undefined,
      timeoutMs = 30_000,
    ): Promise<string> {
      let token: string | undefined;
      await waitFor(
        `a new token in ${namespace}/${secretName}`,
        async () => {
          token = await api.token(secretName);
          return token !== undefined && token !== previous;
        },
        timeoutMs,
      );
      return token as string;
    },

    /** Events recorded for an object, newest last. */
    async events(name: string): Promise<{ type: string; reason: string; message: string }[]> {
      const list = await core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${name}`,
      });
      return list.items.map((e) => ({
        type: e.type ?? '',
        reason: e.reason ?? '',
        message: e.message ?? '',
      }));
    },
  };
  return api;
}

function issuerSpec(name: string, auth: AuthServer, options: IssuerOptions): TokenIssuerSpec {
  const client = auth.clients[options.client ?? 'basic'];
  const endpoint = options.tokenEndpoint
    ? { tokenEndpoint: options.tokenEndpoint }
    : { issuerURL: options.issuerURL ?? auth.issuerIdentifier };
  const credentials = `${name}-credentials`;
  const clientAuth =
    client.authMethod === 'private_key_jwt'
      ? { method: client.authMethod, privateKeyRef: { name: credentials, kid: client.kid } }
      : client.authMethod === 'none'
        ? { method: client.authMethod }
        : { method: client.authMethod, clientSecretRef: { name: credentials } };
  return { ...endpoint, clientID: client.clientId, clientAuth, ...options.spec };
}
