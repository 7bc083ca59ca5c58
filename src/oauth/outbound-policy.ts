// Where the operator may send requests: the operator-wide outbound policy (plain data, from flags)
// and the pure decisions made with it. URLs are checked before any request; addresses are checked
// after DNS resolution, on the addresses actually connected to (see guarded-connector.ts).
import { BlockList, isIP } from 'node:net';
import { TokenRequestError } from './errors.ts';

export interface OutboundPolicy {
  /** Plain http endpoints: development and tests only. */
  allowInsecureHttp: boolean;
  /** Private ranges (RFC 1918, CGNAT, IPv6 ULA) are reachable: for an identity provider inside the network. */
  allowPrivateNetworks: boolean;
  /** CIDRs exempt from the address denylist (development and tests; production should need none). */
  allowEndpointCidrs: readonly string[];
  /** When non-empty, the only hosts endpoints may name: `idp.example.com` or `*.corp.example`. */
  allowedEndpointHosts: readonly string[];
}

/** The production default: https only, private ranges denied, no exemptions, any public host. */
export const DEFAULT_OUTBOUND_POLICY: OutboundPolicy = Object.freeze({
  allowInsecureHttp: false,
  allowPrivateNetworks: false,
  allowEndpointCidrs: Object.freeze([]),
  allowedEndpointHosts: Object.freeze([]),
});

export type DeniedClass =
  | 'loopback'
  | 'link-local'
  | 'cloud-metadata'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'private-network'
  | 'unrecognised';

const ALWAYS_DENIED: [Exclude<DeniedClass, 'private-network' | 'unrecognised'>, string[]][] = [
  ['loopback', ['127.0.0.0/8', '::1/128']],
  // 169.254.169.254 is the cloud metadata service.
  ['link-local', ['169.254.0.0/16', 'fe80::/10']],
  ['unspecified', ['0.0.0.0/8', '::/128']],
  ['multicast', ['224.0.0.0/4', 'ff00::/8']],
  ['broadcast', ['255.255.255.255/32']],
];
// Metadata services that sit inside ranges a flag can open (AWS IMDS over IPv6 in fc00::/7,
// Alibaba Cloud in 100.64.0.0/10): denied whatever the flags and exemptions say.
const CLOUD_METADATA = blockListOf(['fd00:ec2::254/128', '100.100.100.200/32']);
const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fec0::/10'];

// BlockList also matches IPv4-mapped IPv6 forms (::ffff:127.0.0.1) against IPv4 ranges.
const deniedLists = ALWAYS_DENIED.map(([kind, cidrs]) => [kind, blockListOf(cidrs)] as const);
const privateList = blockListOf(PRIVATE);
const exemptions = new WeakMap<OutboundPolicy, BlockList>();

export interface Cidr {
  network: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `::1/128`; a bare address is a single-address range. */
export function parseCidr(text: string): Cidr | undefined {
  const [network = '', prefixText, ...rest] = text.trim().split('/');
  const version = isIP(network);
  // Zone ids (fe80::1%eth0) name an interface, not a range.
  if (version === 0 || network.includes('%') || rest.length > 0) return undefined;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { network, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

const HOST_PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** Readable problems with a policy (malformed CIDRs or host patterns); empty when it is usable. */
export function outboundPolicyProblems(policy: OutboundPolicy): string[] {
  const problems: string[] = [];
  for (const cidr of policy.allowEndpointCidrs) {
    if (!parseCidr(cidr))
      problems.push(`--allow-endpoint-cidrs: ${JSON.stringify(cidr)} is not ADDRESS/PREFIX`);
  }
  for (const host of policy.allowedEndpointHosts) {
    if (!HOST_PATTERN.test(host.toLowerCase()) && isIP(host) === 0) {
      problems.push(`--allowed-endpoint-hosts: ${JSON.stringify(host)} is not a host name or *.domain`);
    }
  }
  return problems;
}

/**
 * Why a request to `url` is refused before any DNS lookup or connection (scheme, host allowlist,
 * an IP-literal host that is denied), or undefined when it may go ahead to the address check.
 */
export function urlRefusal(policy: OutboundPolicy, url: URL): string | undefined {
  if (url.protocol === 'http:' && !policy.allowInsecureHttp) {
    return 'plain http is allowed only with --allow-insecure-http';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'only https endpoints are allowed';
  const host = hostOf(url);
  if (!hostAllowed(policy, host)) return `host ${host} is not in --allowed-endpoint-hosts`;
  return isIP(host) === 0 ? undefined : addressRefusal(policy, host, { resolved: false });
}

/** Why a connection to an address (an IP-literal host, or one a name resolved to) is refused, or undefined. */
export function addressRefusal(
  policy: OutboundPolicy,
  address: string,
  { resolved }: { resolved: boolean },
): string | undefined {
  const denied = deniedClass(policy, address);
  if (!denied) return undefined;
  return resolved
    ? `resolves to ${address}, ${describeClass(denied)}`
    : `${address} is ${describeClass(denied)}`;
}

/** The denylist entry an address falls in, unless the policy allows it. Non-addresses are denied. */
export function deniedClass(policy: OutboundPolicy, address: string): DeniedClass | undefined {
  const version = isIP(address);
  if (version === 0) return 'unrecognised';
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (CLOUD_METADATA.check(address, family)) return 'cloud-metadata';
  if (exemptionsOf(policy).check(address, family)) return undefined;
  for (const [kind, list] of deniedLists) if (list.check(address, family)) return kind;
  if (!policy.allowPrivateNetworks && privateList.check(address, family)) return 'private-network';
  return undefined;
}

/** The error of every refusal: what was refused, and why. A person must change something: not retryable. */
export function endpointRefused(what: string, url: URL, reason: string): TokenRequestError {
  return new TokenRequestError('endpoint_refused', `${what} ${displayURL(url)} refused: ${reason}`, {
    retryable: false,
    causeCode: 'ENDPOINT_REFUSED',
  });
}

// Scheme, host and path only: a query could carry anything; long discovered URLs are cut.
function displayURL(url: URL): string {
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  return shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
}

function describeClass(kind: DeniedClass): string {
  switch (kind) {
    case 'private-network':
      return 'a private-network address (allowed only with --allow-private-networks)';
    case 'unrecognised':
      return 'not a recognisable IP address';
    case 'unspecified':
      return 'an unspecified address';
    default:
      return `a ${kind} address`;
  }
}

function hostOf(url: URL): string {
  // `[::1]` in URLs; a trailing dot names the same host.
  return url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

function hostAllowed(policy: OutboundPolicy, host: string): boolean {
  if (policy.allowedEndpointHosts.length === 0) return true;
  return policy.allowedEndpointHosts.some((pattern) => {
    const p = pattern.toLowerCase().replace(/\.$/, '');
    // `*.corp.example` matches any name under corp.example, not corp.example itself.
    return p.startsWith('*.') ? host.endsWith(p.slice(1)) : host === p;
  });
}

function exemptionsOf(policy: OutboundPolicy): BlockList {
  let list = exemptions.get(policy);
  if (!list) {
    list = blockListOf(policy.allowEndpointCidrs);
    exemptions.set(policy, list);
  }
  return list;
}

function blockListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (cidr) list.addSubnet(cidr.network, cidr.prefix, cidr.family);
  }
  return list;
}
