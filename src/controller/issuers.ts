// The issuer controller: turns each TokenIssuer and ClusterTokenIssuer into a ready OAuth
// configuration (credentials read, endpoint discovered) or a readable problem, records it in
// the issuer's Ready condition, and tells TokenRequests when what they depend on changed.
import type { Configuration } from 'openid-client';
import {
  type ClusterTokenIssuer,
  ConditionStatus,
  ConditionType,
  IssuerReason,
  type IssuerStatus,
  Kind,
  Plural,
  type TokenIssuer,
} from '../api/index.ts';
import type { EventRecorder } from '../kube/event-recorder.ts';
import type { NamedSecretWatches } from '../kube/named-secret-watches.ts';
import type { StatusWriter } from '../kube/writers.ts';
import type { Logger } from '../log/logger.ts';
import {
  buildConfiguration,
  credentialsFingerprint,
  type IssuerConfigCache,
  type OutboundPolicy,
  TokenRequestError,
} from '../oauth/index.ts';
import { issuerHash, retryAt, setCondition, statusDiffers } from '../renewal/index.ts';
import { issuerKey } from './issuer-access.ts';
import { type IssuerObject, issuerSettings, referencedSecrets } from './issuer-settings.ts';

export type IssuerState =
  | {
      ready: true;
      config: Configuration;
      /** Hash recorded on Secrets: a change renews the tokens issued through this issuer. */
      hash: string;
      tokenEndpoint: string;
      defaultLifetimeMs: number;
    }
  | { ready: false; reason: string; message: string };

export interface IssuerControllerDeps {
  now(): Date;
  random(): number;
  tokenIssuer(namespace: string, name: string): TokenIssuer | undefined;
  clusterTokenIssuer(name: string): ClusterTokenIssuer | undefined;
  secrets: NamedSecretWatches;
  configs: IssuerConfigCache<Configuration>;
  status: StatusWriter;
  events: EventRecorder;
  /** Reconcile this issuer again at `at` (after a failed discovery). */
  retryAt(key: string, at: Date): void;
  /** The issuer's state changed: reconcile the TokenRequests that use it. */
  changed(key: string): void;
  clusterResourceNamespace: string;
  outbound: OutboundPolicy;
  log: Logger;
}

export class IssuerController {
  readonly #deps: IssuerControllerDeps;
  readonly #states = new Map<string, IssuerState>();
  readonly #failures = new Map<string, number>();

  constructor(deps: IssuerControllerDeps) {
    this.#deps = deps;
  }

  /** The issuer's current state; undefined until it has been reconciled once. */
  state(key: string): IssuerState | undefined {
    return this.#states.get(key);
  }

  async reconcile(key: string): Promise<void> {
    const deps = this.#deps;
    const issuer = this.#lookup(key);
    if (!issuer) {
      deps.secrets.release(key);
      deps.configs.invalidate(key);
      this.#failures.delete(key);
      if (this.#states.delete(key)) deps.changed(key);
      return;
    }
    const refs = referencedSecrets(issuer, deps.clusterResourceNamespace);
    deps.secrets.track(key, refs);
    // The watches report back (and re-queue this issuer) once they have listed.
    if (!deps.secrets.synced(refs)) return;

    const next = await this.#resolve(key, issuer);
    await this.#writeStatus(issuer, next);
    const previous = this.#states.get(key);
    this.#states.set(key, next);
    if (!sameState(previous, next)) {
      deps.log.info('issuer state changed', {
        issuer: key,
        ready: next.ready,
        reason: next.ready ? IssuerReason.Ready : next.reason,
      });
      if (!next.ready) deps.events.record(eventTarget(issuer), 'Warning', next.reason, next.message);
      deps.changed(key);
    }
  }

  async #resolve(key: string, issuer: IssuerObject): Promise<IssuerState> {
    const deps = this.#deps;
    const settings = issuerSettings(issuer, {
      clusterResourceNamespace: deps.clusterResourceNamespace,
      outbound: deps.outbound,
      secret: (ref) => deps.secrets.get(ref),
    });
    if (!settings.ok) {
      deps.configs.invalidate(key);
      return { ready: false, reason: settings.reason, message: settings.message };
    }
    const { description } = settings;
    try {
      const config = await deps.configs.get(key, credentialsFingerprint(description), () =>
        buildConfiguration(description, { now: deps.now }),
      );
      this.#failures.delete(key);
      const tokenEndpoint = config.serverMetadata().token_endpoint ?? '';
      return {
        ready: true,
        config,
        tokenEndpoint,
        defaultLifetimeMs: settings.defaultLifetimeMs,
        hash: issuerHash({
          kind: issuer.kind,
          name: issuer.metadata.name ?? '',
          tokenEndpoint,
          issuerURL: description.issuerURL,
          clientID: description.clientID,
          authMethod: description.auth.method,
          credentialVersions: settings.credentialVersions,
          objectVersion: `${issuer.metadata.uid ?? ''}/${issuer.metadata.generation ?? ''}`,
        }),
      };
    } catch (err) {
      const error = err instanceof TokenRequestError ? err : undefined;
      const failedAttempts = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failedAttempts);
      // Discovery failures heal by themselves (the server comes back); configuration errors
      // need a person, and the issuer is reconciled again when they change it.
      if (error?.retryable !== false) {
        const retry = retryAt({
          failedAttempts,
          now: deps.now(),
          random: deps.random,
          retryAfterMs: error?.retryAfterMs,
        });
        deps.retryAt(key, retry.at);
      }
      const reason =
        error?.code === 'endpoint_refused'
          ? IssuerReason.EndpointNotAllowed
          : error?.code === 'configuration'
            ? IssuerReason.InvalidCredentials
            : IssuerReason.DiscoveryFailed;
      return { ready: false, reason, message: error?.message ?? 'issuer configuration failed' };
    }
  }

  async #writeStatus(issuer: IssuerObject, state: IssuerState): Promise<void> {
    const now = this.#deps.now();
    const generation = issuer.metadata.generation;
    const conditions = setCondition(
      issuer.status?.conditions,
      state.ready
        ? {
            type: ConditionType.Ready,
            status: ConditionStatus.True,
            reason: IssuerReason.Ready,
            message: `token endpoint ${state.tokenEndpoint}`,
            observedGeneration: generation,
          }
        : {
            type: ConditionType.Ready,
            status: ConditionStatus.False,
            reason: state.reason,
            message: state.message,
            observedGeneration: generation,
          },
      now,
    );
    const status: IssuerStatus = {
      conditions,
      observedGeneration: generation,
      ...(state.ready ? { tokenEndpoint: state.tokenEndpoint } : {}),
    };
    if (!statusDiffers(issuer.status, status)) return;
    await this.#deps.status.write(
      {
        plural: issuer.kind === Kind.ClusterTokenIssuer ? Plural.ClusterTokenIssuer : Plural.TokenIssuer,
        namespace: issuer.metadata.namespace,
        name: issuer.metadata.name ?? '',
        resourceVersion: issuer.metadata.resourceVersion,
      },
      issuer.kind,
      status,
    );
  }

  #lookup(key: string): IssuerObject | undefined {
    const [kind, ...rest] = key.split('/');
    if (kind === Kind.ClusterTokenIssuer) return this.#deps.clusterTokenIssuer(rest[0] ?? '');
    return this.#deps.tokenIssuer(rest[0] ?? '', rest[1] ?? '');
  }
}

export function issuerKeyOfObject(issuer: IssuerObject): string {
  return issuerKey(issuer.kind, issuer.metadata.namespace, issuer.metadata.name ?? '');
}

function eventTarget(issuer: IssuerObject) {
  return {
    apiVersion: issuer.apiVersion,
    kind: issuer.kind,
    name: issuer.metadata.name ?? '',
    namespace: issuer.metadata.namespace,
    uid: issuer.metadata.uid,
  };
}

function sameState(a: IssuerState | undefined, b: IssuerState): boolean {
  if (!a || a.ready !== b.ready) return false;
  if (a.ready && b.ready) return a.hash === b.hash && a.config === b.config;
  return !a.ready && !b.ready && a.reason === b.reason && a.message === b.message;
}
