import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addressRefusal,
  DEFAULT_OUTBOUND_POLICY,
  deniedClass,
  type OutboundPolicy,
  outboundPolicyProblems,
  parseCidr,
  urlRefusal,
} from '../../../src/oauth/outbound-policy.ts';

const policy = (change: Partial<OutboundPolicy> = {}): OutboundPolicy => ({
  ...DEFAULT_OUTBOUND_POLICY,
  ...change,
});

describe('deniedClass: the address denylist', () => {
  const denied: [string, string][] = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['169.254.0.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    // IPv4-mapped IPv6 forms of the same addresses.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['::ffff:224.0.0.1', 'multicast'],
    ['10.0.0.1', 'private-network'],
    ['172.16.0.1', 'private-network'],
    ['172.31.255.255', 'private-network'],
    ['192.168.1.1', 'private-network'],
    ['100.64.0.1', 'private-network'],
    ['fd00::1', 'private-network'],
    ['::ffff:10.1.2.3', 'private-network'],
    ['not-an-address', 'unrecognised'],
  ];
  for (const [address, kind] of denied) {
    it(`${address}: ${kind}`, () => assert.equal(deniedClass(policy(), address), kind));
  }

  for (const address of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:1.1.1.1']) {
    it(`${address}: allowed`, () => assert.equal(deniedClass(policy(), address), undefined));
  }

  it('private ranges only behind allowPrivateNetworks; loopback and link-local stay denied', () => {
    const open = policy({ allowPrivateNetworks: true });
    assert.equal(deniedClass(open, '10.0.0.1'), undefined);
    assert.equal(deniedClass(open, 'fd00::1'), undefined);
    assert.equal(deniedClass(open, '127.0.0.1'), 'loopback');
    assert.equal(deniedClass(open, '169.254.169.254'), 'link-local');
  });

  it('cloud metadata services inside private ranges stay denied whatever the flags and exemptions', () => {
    const open = policy({ allowPrivateNetworks: true, allowEndpointCidrs: ['fd00::/8', '100.64.0.0/10'] });
    assert.equal(deniedClass(open, 'fd00:ec2::254'), 'cloud-metadata');
    assert.equal(deniedClass(open, '100.100.100.200'), 'cloud-metadata');
    assert.equal(deniedClass(open, '::ffff:100.100.100.200'), 'cloud-metadata');
    assert.equal(deniedClass(open, 'fd00:ec2::253'), undefined);
  });

  it('exempt ranges lift the denylist for exactly those addresses', () => {
    const exempt = policy({ allowEndpointCidrs: ['127.0.0.1/32', '10.20.0.0/16'] });
    assert.equal(deniedClass(exempt, '127.0.0.1'), undefined);
    assert.equal(deniedClass(exempt, '::ffff:127.0.0.1'), undefined);
    assert.equal(deniedClass(exempt, '127.0.0.2'), 'loopback');
    assert.equal(deniedClass(exempt, '10.20.3.4'), undefined);
    assert.equal(deniedClass(exempt, '10.21.3.4'), 'private-network');
  });
});

describe('urlRefusal: before any DNS lookup', () => {
  const cases: [string, Partial<OutboundPolicy>, string | undefined][] = [
    ['https://idp.example/token', {}, undefined],
    ['http://idp.example/token', {}, 'plain http is allowed only with --allow-insecure-http'],
    ['http://idp.example/token', { allowInsecureHttp: true }, undefined],
    ['file:///etc/passwd', { allowInsecureHttp: true }, 'only https endpoints are allowed'],
    ['https://169.254.169.254/', {}, '169.254.169.254 is a link-local address'],
    ['https://[fe80::1]/', {}, 'fe80::1 is a link-local address'],
    // The URL parser normalises other spellings of an address first.
    ['https://0x7f.1/token', {}, '127.0.0.1 is a loopback address'],
    ['https://2130706433/token', {}, '127.0.0.1 is a loopback address'],
    ['https://0.0.0.0/', {}, '0.0.0.0 is an unspecified address'],
    [
      'https://10.0.0.8/',
      {},
      '10.0.0.8 is a private-network address (allowed only with --allow-private-networks)',
    ],
    ['https://idp.example.com/', { allowedEndpointHosts: ['idp.example.com'] }, undefined],
    ['https://IDP.Example.com./', { allowedEndpointHosts: ['idp.example.com'] }, undefined],
    ['https://a.b.corp.example/', { allowedEndpointHosts: ['*.corp.example'] }, undefined],
    [
      'https://corp.example/',
      { allowedEndpointHosts: ['*.corp.example'] },
      'host corp.example is not in --allowed-endpoint-hosts',
    ],
    [
      'https://evilcorp.example/',
      { allowedEndpointHosts: ['*.corp.example'] },
      'host evilcorp.example is not in --allowed-endpoint-hosts',
    ],
    [
      'https://idp.example.com.evil.test/',
      { allowedEndpointHosts: ['idp.example.com'] },
      'host idp.example.com.evil.test is not in --allowed-endpoint-hosts',
    ],
  ];
  for (const [url, change, expected] of cases) {
    it(`${url} ${JSON.stringify(change)}: ${expected ?? 'allowed'}`, () => {
      assert.equal(urlRefusal(policy(change), new URL(url)), expected);
    });
  }
});

describe('addressRefusal wording', () => {
  it('names the resolved address and its class', () => {
    assert.equal(
      addressRefusal(policy(), '169.254.169.254', { resolved: true }),
      'resolves to 169.254.169.254, a link-local address',
    );
    assert.equal(addressRefusal(policy(), '::1', { resolved: false }), '::1 is a loopback address');
    assert.equal(addressRefusal(policy(), '93.184.216.34', { resolved: true }), undefined);
  });
});

describe('parseCidr and outboundPolicyProblems', () => {
  it('parses ranges and single addresses', () => {
    assert.deepEqual(parseCidr('10.0.0.0/8'), { network: '10.0.0.0', prefix: 8, family: 'ipv4' });
    assert.deepEqual(parseCidr('::1'), { network: '::1', prefix: 128, family: 'ipv6' });
    assert.deepEqual(parseCidr(' fd00::/8 '), { network: 'fd00::', prefix: 8, family: 'ipv6' });
  });

  for (const bad of [
    '10.0.0.0/33',
    '::/129',
    '10.0.0/8',
    'localhost/8',
    '10.0.0.0/',
    '10.0.0.0/8/1',
    'fe80::1%eth0/64',
  ]) {
    it(`refuses ${bad}`, () => assert.equal(parseCidr(bad), undefined));
  }

  it('reports each malformed entry, and nothing for the defaults', () => {
    assert.deepEqual(outboundPolicyProblems(DEFAULT_OUTBOUND_POLICY), []);
    const problems = outboundPolicyProblems(
      policy({
        allowEndpointCidrs: ['127.0.0.1/32', 'nope'],
        allowedEndpointHosts: ['ok.example', '*', 'a b'],
      }),
    );
    assert.deepEqual(problems, [
      '--allow-endpoint-cidrs: "nope" is not ADDRESS/PREFIX',
      '--allowed-endpoint-hosts: "*" is not a host name or *.domain',
      '--allowed-endpoint-hosts: "a b" is not a host name or *.domain',
    ]);
  });
});
