// The TokenRequest controller: gather (TokenRequest, issuer, Secret) → decide (src/renewal)
// → act (token request, Secret write, status write, events, next schedule). One reconcile per
// key at a time (the work queue guarantees it). No token value is ever logged, put into an
// event, a status or an error message.
import type { V1Secret } from '@kubernetes/client-node';
import {
  Annotation,
  Kind,
  Plural,
  type TokenRequest,
  TokenRequestReason,
  type TokenRequestStatus,
} from '../api/index.ts';
import type { EventRecorder, EventTarget } from '../kube/event-recorder.ts';
import type { SecretWriter, StatusWriter } from '../kube/writers.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { requestToken, TokenRequestError, type TokenResponse } from '../oauth/index.ts';
import {
  type CheckInput,
  CheckReason,
  currentToken,
  DEFAULT_MIN_REMAINING_MS,
  type Decision,
  decide,
  desiredSecret,
  failureFromStatus,
  formatDuration,
  isLeadUnsafe,
  parseDuration,
  readSecretState,
  renewalTime,
  retryAt,
  secretDiffers,
  specHash,
  statusAfterConflict,
  statusAfterFailure,
  statusAfterIssuerProblem,
  statusAfterRenewal,
  statusDiffers,
  statusUpToDate,
  tokenExpiry,
  tokenFacts,
} from '../renewal/index.ts';
import type { IssuerAccess } from './issuer-access.ts';
import type { IssuerState } from './issuers.ts';

export interface TokenRequestControllerDeps {
  now(): Date;
  random(): number;
  tokenRequest(namespace: string, name: string): TokenRequest | undefined;
  /** The managed Secret as last seen (informer cache or our own last write). */
  secret(namespace: string, name: string): V1Secret | undefined;
  /** Reads a Secret from the API server: the cache holds only the Secrets we manage. */
  readSecret(namespace: string, name: string): Promise<V1Secret | undefined>;
  /** Watches the Secret in a TokenRequest's way (undefined: none), so that its removal re-queues it. */
  watchConflict(key: string, secret: { namespace: string; name: string } | undefined): void;
  issuerAccess(tr: TokenRequest): IssuerAccess;
  issuerState(key: string): IssuerState | undefined;
  /** Runs a token request under the issuer's concurrency limit. */
  withIssuerSlot<T>(issuerKey: string, fn: () => Promise<T>): Promise<T>;
  secrets: SecretWriter;
  status: StatusWriter;
  /** Our own writes, so the next reconcile does not read a stale cache. */
  wroteSecret(secret: V1Secret): void;
  wroteTokenRequest(tr: TokenRequest): void;
  events: EventRecorder;
  schedule(key: string, at: Date): void;
  unschedule(key: string): void;
  metrics: Metrics;
  log: Logger;
  minSafeLeadMs: number;
  defaultRenewBeforeMs: number | undefined;
}

/** Queue key of a TokenRequest. */
export const tokenRequestKey = (namespace: string, name: string) => `${namespace}/${name}`;

export class TokenRequestController {
  readonly #deps: TokenRequestControllerDeps;

  constructor(deps: TokenRequestControllerDeps) {
    this.#deps = deps;
  }

  async reconcile(key: string): Promise<void> {
    const deps = this.#deps;
    const [namespace = '', name = ''] = key.split('/');
    const tr = deps.tokenRequest(namespace, name);
    if (!tr) {
      deps.unschedule(key);
      deps.watchConflict(key, undefined);
      return;
    }
    const secretName = tr.spec.secret?.name ?? name;
    let secret = deps.secret(namespace, secretName);
    const now = deps.now();
    const log = deps.log.with({ namespace, name });

    const access = deps.issuerAccess(tr);
    const issuer = access.ok ? deps.issuerState(access.key) : undefined;
    if (!access.ok || !issuer?.ready) {
      // An issuer that has not been reconciled yet will re-queue us when it has.
      if (access.ok && !issuer) return;
      const problem = !access.ok
        ? access
        : {
            reason: TokenRequestReason.IssuerNotReady,
            message: `${access.key.split('/')[0]} ${tr.spec.issuerRef.name} is not ready: ${issuer && !issuer.ready ? issuer.message : 'unknown'}`,
          };
      const expiresAt = secret ? tokenFacts(secret)?.expiresAt : undefined;
      await this.#writeStatus(
        tr,
        statusAfterIssuerProblem(tr.status, {
          now,
          generation: tr.metadata.generation,
          reason: problem.reason,
          message: problem.message,
          tokenExpiresAt: expiresAt,
        }),
      );
      deps.events.record(target(tr), 'Warning', problem.reason, problem.message);
      // Wake up at expiry so Ready turns False on time; issuer events wake us before that.
      if (expiresAt && expiresAt > now) deps.schedule(key, expiresAt);
      else deps.unschedule(key);
      return;
    }

    // Not in the cache of managed Secrets: before requesting a token for a Secret that seems
    // missing, make sure that no Secret we do not manage is in the way.
    secret ??= await deps.readSecret(namespace, secretName);
    const input: CheckInput = {
      now,
      tokenRequest: {
        name,
        generation: tr.metadata.generation,
        renewRequestedAt: tr.metadata.annotations?.[Annotation.RenewRequestedAt],
      },
      specHash: specHash(tr.spec),
      issuerHash: issuer.hash,
      secret,
      failure: failureFromStatus(tr.status),
    };
    const decision = decide(input);
    if (decision.action !== 'conflict') deps.watchConflict(key, undefined);
    log.debug('decided', {
      action: decision.action,
      reason: 'reason' in decision ? decision.reason : undefined,
    });
    switch (decision.action) {
      case 'wait':
        await this.#upToDate(key, tr, secret, input, decision.until);
        return;
      case 'backoff':
        deps.schedule(key, decision.until);
        return;
      case 'conflict':
        await this.#conflict(key, tr, secretName, decision.message);
        return;
      case 'renew':
        await this.#renew(key, tr, secret, input, issuer, decision, access.key);
        return;
    }
  }

  // Nothing is due. The Secret may still need its labels, annotations or template keys brought
  // up to date around the same token, and the status may lag (e.g. after a restart).
  async #upToDate(
    key: string,
    tr: TokenRequest,
    secret: V1Secret | undefined,
    input: CheckInput,
    until: Date,
  ) {
    const deps = this.#deps;
    const token = secret && currentToken(secret);
    // decide() waits only for a Secret with our annotations and intact data, which holds a token.
    if (!secret || !token) return;
    const desired = desiredSecret({
      tokenRequest: tr,
      token,
      specHash: input.specHash,
      issuerHash: input.issuerHash,
      renewRequestedAt: readSecretState(secret).renewRequestedAt,
    });
    if (desired.ok && secretDiffers(secret, desired.secret)) {
      const written = await this.#writeSecret(tr, desired.secret, secret);
      if (!written) return;
    }
    await this.#writeStatus(
      tr,
      statusUpToDate(tr.status, {
        now: input.now,
        generation: tr.metadata.generation,
        secretName: secret.metadata?.name ?? '',
        token,
      }),
    );
    deps.schedule(key, until);
  }

  async #conflict(key: string, tr: TokenRequest, secretName: string, message: string) {
    const deps = this.#deps;
    deps.unschedule(key);
    deps.watchConflict(key, { namespace: tr.metadata.namespace ?? '', name: secretName });
    await this.#writeStatus(
      tr,
      statusAfterConflict(tr.status, {
        now: deps.now(),
        generation: tr.metadata.generation,
        secretName,
        message,
      }),
    );
    deps.events.record(target(tr), 'Warning', TokenRequestReason.SecretConflict, message);
  }

  async #renew(
    key: string,
    tr: TokenRequest,
    secret: V1Secret | undefined,
    input: CheckInput,
    issuer: Extract<IssuerState, { ready: true }>,
    decision: Extract<Decision, { action: 'renew' }>,
    issuerKey: string,
  ) {
    const deps = this.#deps;
    const log = deps.log.with({ namespace: tr.metadata.namespace, name: tr.metadata.name });
    const previous = secret ? tokenFacts(secret) : undefined;
    if (decision.reason === CheckReason.RenewalDue && previous) {
      deps.metrics.renewalLateness((input.now.getTime() - previous.renewAt.getTime()) / 1000);
    }
    log.info('renewing', { reason: decision.reason });

    let response: TokenResponse;
    const started = performance.now();
    try {
      response = await deps.withIssuerSlot(issuerKey, () =>
        requestToken(issuer.config, {
          scopes: tr.spec.scopes,
          audience: tr.spec.audience,
          resource: tr.spec.resource,
          now: deps.now,
        }),
      );
      deps.metrics.tokenEndpointDuration((performance.now() - started) / 1000, 'success');
    } catch (err) {
      deps.metrics.tokenEndpointDuration((performance.now() - started) / 1000, 'failure');
      const error = err instanceof TokenRequestError ? err : undefined;
      await this.#failed(key, tr, previous?.expiresAt, {
        code: error?.code ?? 'unexpected',
        message: error?.message ?? 'token request failed unexpectedly',
        retryAfterMs: error?.retryAfterMs,
        // The server answered, but with something that cannot be a token.
        reason:
          error?.code === 'invalid_response' || error?.code === 'unsupported_token_type'
            ? TokenRequestReason.InvalidTokenResponse
            : TokenRequestReason.TokenRequestFailed,
      });
      return;
    }

    const expiry = tokenExpiry({
      requestStartedAt: response.requestStartedAt,
      now: deps.now(),
      expiresInSeconds: response.expiresInSeconds,
      jwtExpSeconds: response.jwtExpSeconds,
      jwtIatSeconds: response.jwtIatSeconds,
      defaultLifetimeMs: issuer.defaultLifetimeMs,
    });
    for (const warning of expiry.warnings)
      deps.events.record(target(tr), 'Warning', warning.code, warning.message);
    if (!expiry.ok) {
      await this.#failed(key, tr, previous?.expiresAt, {
        code: expiry.reason,
        message: `token response rejected: ${expiry.message}`,
        reason: TokenRequestReason.InvalidTokenResponse,
      });
      return;
    }
    if (expiry.source === 'default') {
      deps.events.record(
        target(tr),
        'Warning',
        'DefaultLifetimeUsed',
        `the token response carries neither expires_in nor a JWT exp: assuming the issuer's defaultTokenLifetime of ${formatDuration(issuer.defaultLifetimeMs)}`,
      );
    }
    const percentage = tr.spec.renewBeforePercentage;
    const timing = renewalTime({
      issuedAt: response.requestStartedAt,
      expiresAt: expiry.expiresAt,
      renewBeforeMs:
        tr.spec.renewBefore !== undefined
          ? parseDuration(tr.spec.renewBefore)
          : percentage === undefined
            ? deps.defaultRenewBeforeMs
            : undefined,
      renewBeforePercentage: percentage,
      random: deps.random,
    });
    if (timing.halfLife) {
      deps.events.record(
        target(tr),
        'Warning',
        'LeadTooLong',
        `the lead does not fit the token lifetime of ${formatDuration(timing.lifetimeMs)}: renewing at half-life`,
      );
    }
    if (isLeadUnsafe(timing.leadMs, deps.minSafeLeadMs)) {
      deps.events.record(
        target(tr),
        'Warning',
        'LeadShorterThanSafe',
        `the effective lead of ${formatDuration(timing.leadMs)} is shorter than ${formatDuration(deps.minSafeLeadMs)}: pods that mount the Secret may read an expired token before the kubelet syncs the new one`,
      );
    }

    const desired = desiredSecret({
      tokenRequest: tr,
      token: {
        accessToken: response.accessToken,
        tokenType: response.tokenType,
        expiresAt: expiry.expiresAt,
        renewAt: timing.renewAt,
        grantedScopes: response.grantedScopes,
      },
      specHash: input.specHash,
      issuerHash: input.issuerHash,
      renewRequestedAt: input.tokenRequest.renewRequestedAt,
    });
    if (!desired.ok) {
      await this.#failed(key, tr, previous?.expiresAt, {
        code: desired.reason,
        message: desired.message,
        reason: TokenRequestReason.InvalidTokenResponse,
      });
      return;
    }
    // A write that cannot land while the token still has the minimum left is abandoned (e.g.
    // behind an unavailable etcd): landing later would put an expired token into the Secret.
    const deadline = new Date(expiry.expiresAt.getTime() - DEFAULT_MIN_REMAINING_MS);
    const written = await this.#writeSecret(tr, desired.secret, secret, deadline);
    if (!written) return;

    const now = deps.now();
    await this.#writeStatus(
      tr,
      statusAfterRenewal(tr.status, {
        now,
        generation: tr.metadata.generation,
        secretName: desired.secret.metadata?.name ?? '',
        issuedAt: response.requestStartedAt,
        token: {
          tokenType: response.tokenType,
          grantedScopes: response.grantedScopes,
          expiresAt: expiry.expiresAt,
          renewAt: timing.renewAt,
        },
      }),
    );
    deps.metrics.renewal('success', decision.reason);
    // Routine renewals make no event (an API write per renewal); the first token, a renewal
    // forced by a change, and a recovery do.
    if ((tr.status?.failedAttempts ?? 0) > 0) {
      deps.events.record(
        target(tr),
        'Normal',
        'Recovered',
        `renewal succeeded after ${tr.status?.failedAttempts} failed attempts`,
      );
    } else if (decision.reason !== CheckReason.RenewalDue) {
      deps.events.record(
        target(tr),
        'Normal',
        TokenRequestReason.TokenIssued,
        `new token issued (${decision.message})`,
      );
    }
    log.info('renewed', {
      reason: decision.reason,
      expiresAt: expiry.expiresAt.toISOString(),
      renewAt: timing.renewAt.toISOString(),
    });
    deps.schedule(key, timing.renewAt);
  }

  async #failed(
    key: string,
    tr: TokenRequest,
    tokenExpiresAt: Date | undefined,
    failure: {
      code: string;
      message: string;
      retryAfterMs?: number;
      reason: typeof TokenRequestReason.TokenRequestFailed | typeof TokenRequestReason.InvalidTokenResponse;
    },
  ) {
    const deps = this.#deps;
    const now = deps.now();
    const failedAttempts = (tr.status?.failedAttempts ?? 0) + 1;
    const retry = retryAt({
      failedAttempts,
      now,
      random: deps.random,
      retryAfterMs: failure.retryAfterMs,
      expiresAt: tokenExpiresAt,
    });
    deps.metrics.renewal('failure', failure.code);
    deps.log.warn('renewal failed', {
      namespace: tr.metadata.namespace,
      name: tr.metadata.name,
      reason: failure.code,
      message: failure.message,
      failedAttempts,
      retryAt: retry.at.toISOString(),
    });
    await this.#writeStatus(
      tr,
      statusAfterFailure(tr.status, {
        now,
        generation: tr.metadata.generation,
        message: failure.message,
        retryAt: retry.at,
        reason: failure.reason,
        tokenExpiresAt,
      }),
    );
    deps.events.record(target(tr), 'Warning', 'RenewalFailed', failure.message);
    deps.schedule(key, retry.at);
  }

  /** Writes the Secret; on a conflict reports it and returns false. */
  async #writeSecret(
    tr: TokenRequest,
    desired: V1Secret,
    current: V1Secret | undefined,
    deadline?: Date,
  ): Promise<boolean> {
    const deps = this.#deps;
    const namespace = tr.metadata.namespace ?? '';
    const result = await deps.secrets.write(namespace, desired, current, tr.metadata.name ?? '', deadline);
    if (!result.ok) {
      await this.#conflict(
        tokenRequestKey(namespace, tr.metadata.name ?? ''),
        tr,
        desired.metadata?.name ?? '',
        result.message,
      );
      return false;
    }
    deps.wroteSecret(result.secret);
    return true;
  }

  async #writeStatus(tr: TokenRequest, status: TokenRequestStatus): Promise<void> {
    if (!statusDiffers(tr.status, status)) return;
    const written = await this.#deps.status.write<TokenRequest>(
      {
        plural: Plural.TokenRequest,
        namespace: tr.metadata.namespace,
        name: tr.metadata.name ?? '',
        resourceVersion: tr.metadata.resourceVersion,
      },
      Kind.TokenRequest,
      status,
    );
    if (written) this.#deps.wroteTokenRequest(written);
  }
}

function target(tr: TokenRequest): EventTarget {
  return {
    apiVersion: tr.apiVersion,
    kind: Kind.TokenRequest,
    name: tr.metadata.name ?? '',
    namespace: tr.metadata.namespace,
    uid: tr.metadata.uid,
  };
}
