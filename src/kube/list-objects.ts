// A raw, paginated LIST of any resource, returning plain JSON exactly as the Watch stream does.
// The generated clients and KubernetesObjectApi.list run responses through ObjectSerializer
// (timestamps become Date objects for built-in kinds, not for custom resources), so a cache
// filled by them would hold differently shaped objects than the ones the watch delivers.
import {
  ApiException,
  type Configuration,
  HttpMethod,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';

/** Where a resource lives: `v1` + `secrets`, or `token-renewer.io/v1alpha1` + `tokenrequests`. */
export interface ResourceType {
  apiVersion: string;
  plural: string;
}

export interface ListResult {
  items: KubernetesObject[];
  /** The collection's resourceVersion: where a watch continues from. */
  resourceVersion: string;
}

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  /** Objects per page; the API server hands back a `continue` token for the rest. */
  pageSize?: number;
  signal?: AbortSignal;
}

/** Path of a collection; no namespace means all namespaces (or a cluster-scoped resource). */
export function collectionPath(resource: ResourceType, namespace?: string): string {
  const root = resource.apiVersion.includes('/')
    ? `/apis/${resource.apiVersion}`
    : `/api/${resource.apiVersion}`;
  const scope = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${scope}/${resource.plural}`;
}

/** Gives access to the Configuration (server, auth, HTTP library) that `makeApiClient` builds. */
class RawClient {
  readonly configuration: Configuration;
  constructor(configuration: Configuration) {
    this.configuration = configuration;
  }
}

export class Lister {
  readonly #configuration: Configuration;

  constructor(kc: KubeConfig) {
    this.#configuration = kc.makeApiClient(RawClient).configuration;
  }

  /** Lists every page. A `continue` token that expired (410) restarts as one unpaginated list. */
  async list(path: string, query: ListQuery = {}): Promise<ListResult> {
    try {
      return await this.#listPages(path, query, query.pageSize);
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 410 && query.pageSize)) throw err;
      return this.#listPages(path, query, undefined);
    }
  }

  async #listPages(path: string, query: ListQuery, pageSize: number | undefined): Promise<ListResult> {
    const items: KubernetesObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.#get(path, query, pageSize, continueToken);
      const kind = typeof page.kind === 'string' ? page.kind.replace(/List$/, '') : undefined;
      for (const item of page.items ?? []) {
        // Items of built-in kinds come without apiVersion/kind; watch events carry them.
        items.push({ apiVersion: page.apiVersion, kind, ...item });
      }
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    return { items, resourceVersion };
  }

  async #get(path: string, query: ListQuery, limit?: number, continueToken?: string): Promise<RawList> {
    const config = this.#configuration;
    let ctx = config.baseServer.makeRequestContext(path, HttpMethod.GET);
    ctx.setHeaderParam('Accept', 'application/json');
    if (query.labelSelector) ctx.setQueryParam('labelSelector', query.labelSelector);
    if (query.fieldSelector) ctx.setQueryParam('fieldSelector', query.fieldSelector);
    if (limit) ctx.setQueryParam('limit', String(limit));
    if (continueToken) ctx.setQueryParam('continue', continueToken);
    if (query.signal) ctx.setSignal(query.signal);
    await config.authMethods.default?.applySecurityAuthentication(ctx);
    for (const middleware of config.middleware) ctx = await middleware.pre(ctx).toPromise();
    const response = await config.httpApi.send(ctx).toPromise();
    const text = await response.body.text();
    if (response.httpStatusCode !== 200) {
      throw new ApiException(response.httpStatusCode, `list ${path} failed`, text, response.headers);
    }
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as RawList).items)) {
      throw new Error(`list ${path}: response is not a list`);
    }
    return parsed as RawList;
  }
}

interface RawList {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubernetesObject[];
}
