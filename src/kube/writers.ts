// Writes of the controller: the managed Secret and the TokenRequest/issuer status. Each write
// uses the resourceVersion it was computed from (optimistic concurrency) and, on 409 Conflict,
// reads the object again and retries. A Secret that turns out not to be ours is reported as a
// conflict and never overwritten.
import {
  type CoreV1Api,
  type CustomObjectsApi,
  type KubernetesObject,
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
  type V1Secret,
} from '@kubernetes/client-node';
import { group, version } from '../api/index.ts';
import { isManagedByUs, readSecretState, secretForUpdate } from '../renewal/index.ts';
import { isAlreadyExists, isConflict, isNotFound, retryOnConflict } from './conflict.ts';

export type SecretWriteResult = { ok: true; secret: V1Secret } | { ok: false; message: string };

export class SecretWriter {
  readonly #core: CoreV1Api;

  constructor(core: CoreV1Api) {
    this.#core = core;
  }

  /**
   * Creates the desired Secret or replaces `current` with it. `owner` is the TokenRequest
   * name the Secret must be labelled for, should the live Secret differ from the cache. With a
   * `deadline`, every request is abandoned at that time (client and server side), so that a
   * write stuck behind an unavailable etcd cannot land later, when its token has expired.
   */
  async write(
    namespace: string,
    desired: V1Secret,
    current: V1Secret | undefined,
    owner: string,
    deadline?: Date,
  ) {
    const name = desired.metadata?.name ?? '';
    const options = deadline && until(deadline);
    let live = current;
    return retryOnConflict<SecretWriteResult>(async (attempt) => {
      if (attempt > 1) live = await this.#read(namespace, name, options);
      if (live === undefined) {
        try {
          return {
            ok: true,
            secret: await this.#core.createNamespacedSecret({ namespace, body: desired }, options),
          };
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          live = await this.#read(namespace, name, options);
          if (live === undefined) throw err;
        }
      }
      const state = readSecretState(live);
      if (!isManagedByUs(state) || state.tokenRequest !== owner) {
        return { ok: false, message: notOurs(namespace, name, state.tokenRequest, isManagedByUs(state)) };
      }
      try {
        const body = secretForUpdate(live, desired);
        return {
          ok: true,
          secret: await this.#core.replaceNamespacedSecret({ namespace, name, body }, options),
        };
      } catch (err) {
        // Deleted since it was read: the next attempt creates it.
        if (isNotFound(err)) live = undefined;
        throw isNotFound(err) ? conflictRetry(err) : err;
      }
    });
  }

  async #read(namespace: string, name: string, options?: RequestOptions): Promise<V1Secret | undefined> {
    try {
      return await this.#core.readNamespacedSecret({ namespace, name }, options);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

type RequestOptions = { middleware: ObservableMiddleware[]; middlewareMergeStrategy: 'append' };

/**
 * Per-request options that end each request at `deadline`: the client aborts it, and the API
 * server (its `timeout` parameter) gives up on it, storage write included, at the same time.
 */
function until(deadline: Date): RequestOptions {
  const middleware: ObservableMiddleware = {
    pre: (ctx: RequestContext) => {
      // Timers take at most 2^31−1 ms (24.8 days); a farther deadline cannot matter to one request.
      const leftMs = Math.min(Math.max(0, deadline.getTime() - Date.now()), 2 ** 31 - 1);
      ctx.setSignal(AbortSignal.timeout(leftMs));
      ctx.setQueryParam('timeout', `${Math.max(1, Math.floor(leftMs / 1000))}s`);
      return new Observable(Promise.resolve(ctx));
    },
    post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

function notOurs(namespace: string, name: string, owner: string | undefined, managed: boolean): string {
  return managed
    ? `Secret ${namespace}/${name} belongs to TokenRequest ${owner ?? '(unknown)'}`
    : `Secret ${namespace}/${name} exists and is not managed by token-renewer`;
}

// retryOnConflict retries only on 409; a 404 during replace means "create instead", which the
// next attempt does. Re-labelling it as a conflict keeps one retry loop.
function conflictRetry(err: unknown): Error {
  return Object.assign(new Error('Secret vanished during replace'), { statusCode: 409, cause: err });
}

export interface StatusTarget {
  plural: string;
  /** Undefined for cluster-scoped resources. */
  namespace?: string;
  name: string;
  resourceVersion?: string;
}

/** Replaces the status subresource (PUT), so fields absent from `status` are cleared. */
export class StatusWriter {
  readonly #custom: CustomObjectsApi;

  constructor(custom: CustomObjectsApi) {
    this.#custom = custom;
  }

  async write<T extends KubernetesObject & { status?: unknown }>(
    target: StatusTarget,
    kind: string,
    status: unknown,
  ): Promise<T | undefined> {
    let resourceVersion = target.resourceVersion;
    const common = { group, version, plural: target.plural, name: target.name };
    return retryOnConflict(async (attempt) => {
      if (attempt > 1) {
        const fresh = (await this.#read(target)) as T | undefined;
        if (!fresh) return undefined;
        resourceVersion = fresh.metadata?.resourceVersion;
      }
      const body = {
        apiVersion: `${group}/${version}`,
        kind,
        metadata: { name: target.name, namespace: target.namespace, resourceVersion },
        status,
      };
      try {
        const written = target.namespace
          ? await this.#custom.replaceNamespacedCustomObjectStatus({
              ...common,
              namespace: target.namespace,
              body,
            })
          : await this.#custom.replaceClusterCustomObjectStatus({ ...common, body });
        return written as T;
      } catch (err) {
        if (isNotFound(err)) return undefined; // deleted meanwhile: nothing to report on
        if (isConflict(err)) throw err;
        throw err;
      }
    });
  }

  async #read(target: StatusTarget): Promise<unknown> {
    const common = { group, version, plural: target.plural, name: target.name };
    try {
      return target.namespace
        ? await this.#custom.getNamespacedCustomObject({ ...common, namespace: target.namespace })
        : await this.#custom.getClusterCustomObject(common);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}
