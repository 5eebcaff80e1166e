// The server.N value grammar (src/compile/serverline.ts) against ZooKeeper's own reading of it
// (QuorumPeer.QuorumServer, ConfigUtils.getHostAndPort): canonical spellings round-trip, the
// spellings ZooKeeper also accepts read the same, bad input is refused with a message naming
// the line and the fault, and the real-world inputs under test/fixtures/realworld (a copy of ../shared/realworld) parse right.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import {
  formatHostPort,
  isIPv6,
  normalizeHost,
  parseServerKey,
  parseServerValue,
  renderServerValue,
  ServerLineError,
  type ServerSpecLine,
} from '../../src/compile/serverline.js';

// a copy of ../shared/realworld (public reports, hosts replaced), kept with the tests
const REALWORLD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/realworld');

/** The server.N entries of a zoo.cfg text: [key, value] with the value's leading blanks gone. */
function serverEntries(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const raw of text.split(/\r?\n/)) {
    const l = raw.replace(/^[ \t\f]+/, '');
    if (l === '' || l.startsWith('#') || l.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(l);
    if (m && m[1] !== undefined && m[2] !== undefined && m[1].startsWith('server.')) out.push([m[1], m[2]]);
  }
  return out;
}

function parseCfg(path: string): ServerSpecLine[] {
  return serverEntries(readFileSync(path, 'utf8')).map(([k, v]) => {
    const id = parseServerKey(k);
    assert.notEqual(id, null, `${path}: ${k}`);
    return parseServerValue(id as number, v);
  });
}

const addr = (host: string, quorumPort = 2888, electionPort = 3888) => ({ host, quorumPort, electionPort });

function throwsLine(value: string, reason: RegExp, id = 1): void {
  assert.throws(
    () => parseServerValue(id, value),
    (e: unknown) => {
      assert.ok(e instanceof ServerLineError, `not a ServerLineError: ${String(e)}`);
      assert.ok(e.message.startsWith(`server.${id}=${value}: `), e.message);
      assert.match(e.reason, reason);
      return true;
    },
  );
}

describe('parseServerKey', () => {
  it('reads every non-negative id, including 0, as Long.parseLong does', () => {
    assert.equal(parseServerKey('server.0'), 0);
    assert.equal(parseServerKey('server.1'), 1);
    assert.equal(parseServerKey('server.255'), 255);
    assert.equal(parseServerKey(' server.3 '), 3);
    assert.equal(parseServerKey('server.01'), 1);
    assert.equal(parseServerKey('server.+7'), 7);
    assert.equal(parseServerKey(`server.${Number.MAX_SAFE_INTEGER}`), Number.MAX_SAFE_INTEGER);
  });
  it('returns null for anything else', () => {
    for (const k of [
      'server.x',
      'server.',
      'server.-1',
      'server.1.5',
      'server.1a',
      'servers.1',
      'clientPort',
      'group.1',
      'weight.1',
      'server.99999999999999999',
    ])
      assert.equal(parseServerKey(k), null, k);
  });
});

describe('parseServerValue / renderServerValue: canonical spellings round-trip', () => {
  const cases: Array<[string, Omit<ServerSpecLine, 'id'>]> = [
    ['zk1:2888:3888', { addresses: [addr('zk1')], role: null, client: null }],
    ['10.0.0.1:2888:3888', { addresses: [addr('10.0.0.1')], role: null, client: null }],
    ['zk1.example.net:2888:3888:participant', { addresses: [addr('zk1.example.net')], role: 'participant', client: null }],
    ['zk4.example.net:2888:3888:observer', { addresses: [addr('zk4.example.net')], role: 'observer', client: null }],
    ['zk1:2888:3888;2181', { addresses: [addr('zk1')], role: null, client: { address: null, port: 2181 } }],
    ['zk1:2888:3888;0.0.0.0:2181', { addresses: [addr('zk1')], role: null, client: { address: '0.0.0.0', port: 2181 } }],
    ['zk1:2888:3888:observer;zk1:2181', { addresses: [addr('zk1')], role: 'observer', client: { address: 'zk1', port: 2181 } }],
    ['[2001:db8::1]:2888:3888', { addresses: [addr('2001:db8::1')], role: null, client: null }],
    ['[::1]:2888:3888:participant;[::1]:2181', { addresses: [addr('::1')], role: 'participant', client: { address: '::1', port: 2181 } }],
    ['[fe80::1%eth0]:2888:3888', { addresses: [addr('fe80::1%eth0')], role: null, client: null }],
    ['a:2888:3888|b:2889:3889', { addresses: [addr('a'), addr('b', 2889, 3889)], role: null, client: null }],
    [
      '10.0.0.1:2888:3888|[2001:db8::1]:2888:3888|zk1-b:2888:3888:observer;2181',
      { addresses: [addr('10.0.0.1'), addr('2001:db8::1'), addr('zk1-b')], role: 'observer', client: { address: null, port: 2181 } },
    ],
    ['h:0:65535', { addresses: [addr('h', 0, 65535)], role: null, client: null }],
  ];
  for (const [value, spec] of cases) {
    it(value, () => {
      const parsed = parseServerValue(5, value);
      assert.deepEqual(parsed, { id: 5, ...spec });
      assert.equal(renderServerValue(parsed), value);
    });
  }
  it('id 0 is a server like any other', () => {
    assert.deepEqual(parseServerValue(0, 'node2:2288:3388'), { id: 0, addresses: [addr('node2', 2288, 3388)], role: null, client: null });
  });
});

describe('parseServerValue: other spellings ZooKeeper accepts read the same', () => {
  const cases: Array<[string, string]> = [
    // whitespace around the value (Properties.load strips the leading part; 3.4 trims)
    ['  zk1:2888:3888  ', 'zk1:2888:3888'],
    ['zk1:2888:3888:observer\t', 'zk1:2888:3888:observer'],
    // role: QuorumServer.getType trims and lower-cases (3.6+)
    ['zk1:2888:3888:OBSERVER', 'zk1:2888:3888:observer'],
    ['zk1:2888:3888: Participant', 'zk1:2888:3888:participant'],
    // Java String.split drops trailing empty strings
    ['zk1:2888:3888:', 'zk1:2888:3888'],
    ['zk1:2888:3888;', 'zk1:2888:3888'],
    ['zk1:2888:3888|', 'zk1:2888:3888'],
    ['zk1:2888:3888:observer:', 'zk1:2888:3888:observer'],
    // Integer.parseInt
    ['zk1:02888:+3888;002181', 'zk1:2888:3888;2181'],
    // the role may sit on any address; written once at the end (QuorumServer.toString)
    ['a:2888:3888:observer|b:2888:3888', 'a:2888:3888|b:2888:3888:observer'],
    ['a:2888:3888:observer|b:2888:3888:OBSERVER', 'a:2888:3888|b:2888:3888:observer'],
    // a bracketed name is a name (getHostAndPort takes what is inside)
    ['[zk1]:2888:3888', 'zk1:2888:3888'],
  ];
  for (const [value, canonical] of cases) {
    it(JSON.stringify(value), () => {
      const parsed = parseServerValue(1, value);
      assert.equal(renderServerValue(parsed), canonical);
      assert.deepEqual(parseServerValue(1, canonical), parsed);
    });
  }
});

describe('parseServerValue: refusals name the line and the fault', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty value/],
    ['   ', /empty value/],
    ['zk1', /missing quorum and election ports/],
    ['zk1:2888', /missing election port/],
    ['zk1:2888:', /missing election port/],
    ['zk1:2888:38x8', /election port '38x8' is not a number/],
    ['zk1:two:3888', /quorum port 'two' is not a number/],
    ['zk1::3888', /quorum port '' is not a number/],
    ['zk1:-1:3888', /quorum port '-1' is not a number/],
    ['zk1:2888:70000', /election port 70000 is out of range/],
    ['zk1:2888:2888', /quorum port and election port must differ \(both 2888\)/],
    ['zk1:2888:3888:leader', /unknown role 'leader' \(expected participant or observer\)/],
    ['zk1:2888:3888:observer:x', /too many ':'/],
    ['2001:db8::1:2888:3888', /IPv6 host must be in brackets/],
    ['[2001:db8::1:2888:3888', /unterminated '\['.*no matching '\]'/],
    ['[2001:db8::1]', /expected ':' and a port after '\]'/],
    ['[2001:db8::1]:', /expected ':' and a port after '\]'/],
    ['[2001:db8::1]x2888:3888', /expected ':' and a port after '\]'/],
    ['[]:2888:3888', /empty host/],
    [':2888:3888', /empty host/],
    ['zk 1:2888:3888', /host 'zk 1' contains whitespace/],
    ['zk1 :2888:3888', /contains whitespace/],
    ['zk1: 2888:3888', /quorum port ' 2888' is not a number/],
    ['a:2888:3888||b:2888:3888', /empty address around '\|'/],
    ['|a:2888:3888', /empty address around '\|'/],
    ['|', /no server address/],
    ['||;2181', /no server address/],
    ['a:2888:3888:observer|b:2888:3888:participant', /different roles \(observer vs participant\)/],
    [';2181', /no server address before ';'/],
    ['zk1:2888:3888;2181;2281', /more than one ';'/],
    ['zk1:2888:3888;;2281', /more than one ';'/],
    ['zk1:2888:3888;x', /client port 'x' is not a number/],
    ['zk1:2888:3888; 2181', /client port ' 2181' is not a number/],
    ['zk1:2888:3888;h:2181:1', /client part 'h:2181:1' must be port or host:port/],
    ['zk1:2888:3888;::1:2181', /must be port or host:port \(an IPv6 host in brackets\)/],
    ['zk1:2888:3888;[::1:2181', /unterminated '\['/],
    ['zk1:2888:3888;:2181', /empty client host/],
    ['zk1:2888:3888;[::1]:99999', /client port 99999 is out of range/],
  ];
  for (const [value, reason] of cases) it(JSON.stringify(value), () => throwsLine(value, reason));

  it('refuses a negative or fractional id', () => {
    throwsLine('zk1:2888:3888', /myid -1 is not a non-negative integer/, -1);
    throwsLine('zk1:2888:3888', /myid 1.5 is not a non-negative integer/, 1.5);
  });
});

describe('renderServerValue', () => {
  const line = (over: Partial<ServerSpecLine>): ServerSpecLine => ({ id: 1, addresses: [addr('zk1')], role: null, client: null, ...over });
  it('brackets a bare IPv6 host from a plan, and does not bracket twice', () => {
    assert.equal(renderServerValue(line({ addresses: [addr('2001:db8::1')] })), '[2001:db8::1]:2888:3888');
    assert.equal(renderServerValue(line({ addresses: [addr('[2001:db8::1]')] })), '[2001:db8::1]:2888:3888');
    assert.equal(renderServerValue(line({ client: { address: '2001:db8::1', port: 2181 } })), 'zk1:2888:3888;[2001:db8::1]:2181');
  });
  it('writes the role only when set, once, after the last address', () => {
    assert.equal(renderServerValue(line({ role: null })), 'zk1:2888:3888');
    assert.equal(renderServerValue(line({ role: 'participant' })), 'zk1:2888:3888:participant');
    assert.equal(renderServerValue(line({ addresses: [addr('a'), addr('b')], role: 'observer' })), 'a:2888:3888|b:2888:3888:observer');
  });
  it('refuses what it cannot write', () => {
    const bad: Array<[Partial<ServerSpecLine>, RegExp]> = [
      [{ addresses: [] }, /no address/],
      [{ addresses: [addr('')] }, /empty host/],
      [{ addresses: [addr('a b')] }, /whitespace/],
      [{ addresses: [addr('a;b')] }, /contains one of/],
      [{ addresses: [addr('zk1', 2888, 2888)] }, /must differ/],
      [{ addresses: [addr('zk1', 70000, 3888)] }, /quorum port 70000 is not a port/],
      [{ client: { address: null, port: -1 } }, /client port -1 is not a port/],
      [{ id: -3 }, /myid -3/],
    ];
    for (const [over, re] of bad)
      assert.throws(
        () => renderServerValue(line(over)),
        (e: unknown) => e instanceof ServerLineError && re.test(e.reason),
        JSON.stringify(over),
      );
  });
});

describe('formatHostPort, isIPv6, normalizeHost', () => {
  it('formats connect-string entries', () => {
    assert.equal(formatHostPort('::1', 2181), '[::1]:2181');
    assert.equal(formatHostPort('[2001:db8::11]', 2181), '[2001:db8::11]:2181');
    assert.equal(formatHostPort('10.0.0.1', 2181), '10.0.0.1:2181');
    assert.equal(formatHostPort('zk1.example.net', 2181), 'zk1.example.net:2181');
  });
  it('tells IPv6 literals (without brackets) from the rest', () => {
    for (const h of ['::1', '2001:db8::11', 'fe80::1%eth0', '::ffff:10.0.0.1']) assert.equal(isIPv6(h), true, h);
    for (const h of ['[::1]', '10.0.0.1', 'zk1', 'zk1:2181', '']) assert.equal(isIPv6(h), false, h);
  });
  it('strips one pair of brackets', () => {
    assert.equal(normalizeHost('[2001:db8::11]'), '2001:db8::11');
    assert.equal(normalizeHost('2001:db8::11'), '2001:db8::11');
    assert.equal(normalizeHost('zk1'), 'zk1');
  });
});

describe('real-world inputs', () => {
  it('observer/: the observer keeps its role, on both hosts’ files', () => {
    for (const f of ['zoo-voter-host.cfg', 'zoo-observer-host.cfg']) {
      const lines = parseCfg(join(REALWORLD, 'observer', f));
      assert.deepEqual(lines, [
        { id: 1, addresses: [addr('zk1.example.net')], role: null, client: null },
        { id: 2, addresses: [addr('zk2.example.net')], role: null, client: null },
        { id: 3, addresses: [addr('zk3.example.net')], role: null, client: null },
        { id: 4, addresses: [addr('zk4.example.net')], role: 'observer', client: null },
      ]);
      assert.deepEqual(
        lines.map(renderServerValue),
        ['zk1.example.net:2888:3888', 'zk2.example.net:2888:3888', 'zk3.example.net:2888:3888', 'zk4.example.net:2888:3888:observer'],
        f,
      );
    }
  });

  it('ids-from-zero/: server.0 is read as myid 0', () => {
    const lines = parseCfg(join(REALWORLD, 'ids-from-zero', 'zoo.cfg'));
    assert.deepEqual(lines, [
      { id: 0, addresses: [addr('node2', 2288, 3388)], role: null, client: null },
      { id: 1, addresses: [addr('node3', 2288, 3388)], role: null, client: null },
      { id: 2, addresses: [addr('node4', 2288, 3388)], role: null, client: null },
    ]);
    assert.deepEqual(lines.map(renderServerValue), ['node2:2288:3388', 'node3:2288:3388', 'node4:2288:3388']);
  });

  it('ipv6/: bare and bracketed plan hosts give the same bracketed lines, which read back', () => {
    const expected = ['[2001:db8::11]:2888:3888', '[2001:db8::12]:2888:3888', '[2001:db8::13]:2888:3888'];
    for (const f of ['plan-bare.yaml', 'plan-bracket.yaml']) {
      const plan = parseYaml(readFileSync(join(REALWORLD, 'ipv6', f), 'utf8')) as {
        cluster: { ports: { client: number; quorum: number; election: number } };
        servers: Array<{ myid: number; host: string }>;
      };
      const { quorum, election, client } = plan.cluster.ports;
      const specs: ServerSpecLine[] = plan.servers.map((s) => ({
        id: s.myid,
        addresses: [{ host: normalizeHost(s.host), quorumPort: quorum, electionPort: election }],
        role: null,
        client: null,
      }));
      const rendered = specs.map(renderServerValue);
      assert.deepEqual(rendered, expected, f);
      assert.deepEqual(
        rendered.map((v, i) => parseServerValue(i + 1, v)),
        [1, 2, 3].map((id) => ({ id, addresses: [addr(`2001:db8::${10 + id}`)], role: null, client: null })),
      );
      assert.deepEqual(
        plan.servers.map((s) => formatHostPort(s.host, client)),
        ['[2001:db8::11]:2181', '[2001:db8::12]:2181', '[2001:db8::13]:2181'],
      );
      // the bare spelling written straight into zoo.cfg is what ZooKeeper refuses
      for (const s of plan.servers.filter((x) => !x.host.startsWith('[')))
        throwsLine(`${s.host}:${quorum}:${election}`, /IPv6 host must be in brackets/, s.myid);
    }
  });
});

describe('properties', () => {
  const hostArb = fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,20}$/));
  const portArb = fc.integer({ min: 0, max: 65535 });
  const addressArb = fc
    .record({ host: hostArb, quorumPort: portArb, electionPort: portArb }, { noNullPrototype: true })
    .filter((a) => a.quorumPort !== a.electionPort);
  const specArb: fc.Arbitrary<ServerSpecLine> = fc.record(
    {
      id: fc.oneof(fc.constant(0), fc.nat(), fc.maxSafeNat()),
      addresses: fc.array(addressArb, { minLength: 1, maxLength: 4 }),
      role: fc.constantFrom<ServerSpecLine['role']>(null, 'participant', 'observer'),
      client: fc.option(fc.record({ address: fc.option(hostArb, { nil: null }), port: portArb }, { noNullPrototype: true }), { nil: null }),
    },
    { noNullPrototype: true },
  );

  it('parse(render(s)) equals s, and render(parse(v)) === v for every rendered v', () => {
    fc.assert(
      fc.property(specArb, (s) => {
        const v = renderServerValue(s);
        const back = parseServerValue(s.id, v);
        assert.deepEqual(back, s);
        assert.equal(renderServerValue(back), v);
      }),
      { numRuns: 2000 },
    );
  });

  it('IPv6 hosts are always bracketed, other hosts never', () => {
    fc.assert(
      fc.property(specArb, (s) => {
        const v = renderServerValue(s);
        for (const a of s.addresses) {
          const written = isIPv6(a.host) ? `[${a.host}]:${a.quorumPort}:` : `${a.host}:${a.quorumPort}:`;
          assert.ok(v.includes(written), `${v} lacks ${written}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('surrounding whitespace and the role’s case do not change the reading', () => {
    fc.assert(
      fc.property(specArb, fc.stringMatching(/^[ \t]{0,3}$/), fc.stringMatching(/^[ \t]{0,3}$/), (s, pre, post) => {
        const v = renderServerValue(s);
        const shouted = s.role === null ? v : v.replace(`:${s.role}`, `:${s.role.toUpperCase()}`);
        assert.deepEqual(parseServerValue(s.id, `${pre}${shouted}${post}`), s);
      }),
      { numRuns: 500 },
    );
  });

  it('any input either reads to a line that renders and reads back the same, or is a ServerLineError', () => {
    const piece = fc.constantFrom('zk1', '10.0.0.1', '::1', '[', ']', ':', ';', '|', '2888', '3888', '2181', 'observer', 'PARTICIPANT', ' ', '', 'x', '[::1]');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (ps) => {
        const v = ps.join('');
        let s: ServerSpecLine;
        try {
          s = parseServerValue(7, v);
        } catch (e) {
          assert.ok(e instanceof ServerLineError, String(e));
          assert.ok(e.message.startsWith(`server.7=${v}: `));
          return;
        }
        assert.deepEqual(parseServerValue(7, renderServerValue(s)), s);
      }),
      { numRuns: 3000 },
    );
  });
});
