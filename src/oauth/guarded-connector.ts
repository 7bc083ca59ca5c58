// The connect step of an issuer's undici Agent, with the outbound policy's address check in it:
// host names are resolved here (all addresses) and the connection goes to exactly the addresses
// that were checked, so neither a name that resolves to a denied address nor DNS rebinding
// between a check and the connect gets around it. IP literals skip resolution and are checked as is.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { addressRefusal, type OutboundPolicy } from './outbound-policy.ts';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Host name to every address it resolves to; injectable so tests can map names to any address. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, order: 'verbatim' });

/** Raised inside undici's connect; the HTTP client turns it into a TokenRequestError naming the endpoint. */
export class AddressRefusedError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}
Object.defineProperty(AddressRefusedError.prototype, 'name', { value: 'AddressRefusedError' });

export function guardedConnector(
  policy: OutboundPolicy,
  resolve: Resolver,
  options: buildConnector.BuildOptions,
): buildConnector.connector {
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolve(hostname).then(
      (all) => {
        // Any denied address refuses the name: which one a connection would use is not ours to pick.
        for (const { address } of all) {
          const reason = addressRefusal(policy, address, { resolved: true });
          if (reason) return callback(new AddressRefusedError(reason), '');
        }
        const family = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : 0;
        const usable = all.filter((a) => family === 0 || a.family === family);
        const first = usable[0];
        if (!first) return callback(notFound(hostname), '');
        if (lookupOptions.all) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
  const connect = buildConnector({ ...options, lookup });
  return (connectOptions, callback) => {
    // Node's net does not call `lookup` for IP literals.
    const host = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1');
    const reason = isIP(host) === 0 ? undefined : addressRefusal(policy, host, { resolved: false });
    if (reason) {
      callback(new AddressRefusedError(reason), null);
      return;
    }
    connect(connectOptions, callback);
  };
}

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`no usable address for ${hostname}`), { code: 'ENOTFOUND' });
}
