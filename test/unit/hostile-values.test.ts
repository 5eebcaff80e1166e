// Hostile values (issue 10, part 4): plan values full of spaces, quotes, `$(…)`, backticks, `;`,
// `&&`, `|`, newlines, globs, `~`, leading `-`, backslashes and unicode, in every path and name of
// a plan (every server's home, config, dataDir, dataLogDir, host and systemd unit, the target's
// and the temporary server's, the znode paths, the local key files), for both strategies.
// Proves, for every plan the loader accepts:
//   - every remote command of every step (step.commands and byMember), rendered exactly as the
//     host runs it (shellCommand, and zkroll's `[sudo -n ]timeout -k 5 N sh -c '…'` wrapper as a
//     login shell reads it), runs for real in a sandbox (hostile-sandbox.ts: stubs for every
//     program, builtins real): its first program gets the compiled argv byte for byte (each
//     hostile value one argument), the wrapper hands `sh -c` the command byte for byte, every
//     hostile argument of a script reaches the programs the script runs whole, and every command
//     succeeds there;
//   - so do the commands the executor runs to write those files (exec/env.ts writeKeeping: mkdir
//     -p, the sudofiles.ts stat/read/write scripts, the rename after an SFTP upload), with the
//     file tools real inside the sandbox: each file lands at its hostile path, byte for byte;
//   - a canary file the values try to create (touch, printf >, in the working directory and at an
//     absolute path) never appears, and no stub named touch ever runs;
//   - the files zkroll writes (zoo.cfg, myid, zookeeper-env.sh, the split-window reader's
//     zoo.cfg) carry the values back exactly: zoo.cfg as java.util.Properties (run for real when
//     java is on PATH) and ZooKeeper's QuorumPeerConfig (trimmed) read it, zookeeper-env.sh as sh
//     and bash source it (zkEnv.sh does), the znode paths in the run settings and gates;
// and that a value the loader refuses (a `..` segment, a newline or trailing blank in a data
// directory, a `;` in a host, a unit starting with `-`, ...) gives located plan errors, all at its
// own field. A failure prints fast-check's seed: replay with FC_SEED / FC_PATH.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { compile, type Compiled, type FileWrite, type NodeRef, type RemoteCommand } from '../../src/compile/index.js';
import { plannedFiles, simulateWrites } from '../../src/compile/files.js';
import { oldNode } from '../../src/compile/nodes.js';
import { log4jEnvBlock } from '../../src/compile/logging.js';
import { escapeValue, parseProperties, propertyValue } from '../../src/compile/properties.js';
import { parseServerKey, parseServerValue } from '../../src/compile/serverline.js';
import { readerCommands, readerDir } from '../../src/compile/split.js';
import { synthesizeZooCfg } from '../../src/compile/zoocfg.js';
import { formatPath } from '../../src/plan/issues.js';
import { formatPlanError, loadPlanFile } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';
import { wrapCommand, remoteTimeoutSecs } from '../../src/remote/executil.js';
import { shellCommand } from '../../src/remote/quote.js';
import { tempPathFor } from '../../src/remote/sftp.js';
import { renameScript, sudoReadScript, sudoStatScript, sudoWriteScript } from '../../src/remote/sudofiles.js';
import { fcParams as params } from './hostile-plan-gen.js';
import { Sandbox, type CommandRun, type StubRun } from './hostile-sandbox.js';

const sb = new Sandbox(fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-hostile-values-')));
after(() => fs.rmSync(sb.dir, { recursive: true, force: true }));

const RUN = '20261201T000000Z';
const CANARY = 'PWNED';
const ABS_CANARY = path.join(sb.dir, CANARY);

// ---------- hostile fragments ----------

/** Attempts to run code, each creating the canary (in the working directory or at an absolute path). */
const INJECT = [
  `$(touch ${CANARY})`,
  `\`touch ${CANARY}\``,
  `;touch ${CANARY};`,
  ` && touch ${CANARY}`,
  ` || touch ${CANARY}`,
  ` | touch ${CANARY}`,
  `\ntouch ${CANARY}\n`,
  `\rtouch ${CANARY}\r`,
  `$(touch ${ABS_CANARY})`,
  `'$(touch ${CANARY})'`,
  `"$(touch ${CANARY})"`,
  `';touch ${CANARY};'`,
  `";touch ${CANARY};"`,
  `'";touch ${CANARY};"'`,
  `$(printf x > ${CANARY})`,
  ` > ${CANARY}`,
  ` & touch ${CANARY} &`,
  `\\$(touch ${CANARY})`,
  `\${x:-$(touch ${CANARY})}`,
  `$((\`touch ${CANARY}\`))`,
];
/** The same without blanks or '/' (for hosts). */
const INJECT_TIGHT = [
  `$(touch\${IFS}${CANARY})`,
  `\`touch\${IFS}${CANARY}\``,
  `;touch\${IFS}${CANARY};`,
  `&&touch\${IFS}${CANARY}`,
  `||touch\${IFS}${CANARY}`,
  `>${CANARY}`,
  `$(>${CANARY})`,
  `'$(touch\${IFS}${CANARY})'`,
  `"\`touch\${IFS}${CANARY}\`"`,
];
const SPECIAL = [
  ' ',
  '  ',
  "'",
  '"',
  '`',
  '$',
  '*',
  '?',
  '[',
  ']',
  '[a-z]*',
  '{a,b}',
  '~',
  '~root',
  '-',
  '-rf',
  '--',
  '\\',
  '\\n',
  '\\\\',
  '\\u0041',
  '$HOME',
  '${HOME}',
  '$1',
  '$@',
  '$*',
  '$0',
  '$$',
  '#',
  '!',
  '=',
  ':',
  'a=b',
  'x:y=z',
  '%s',
  '%n',
  '%%',
  '>',
  '<',
  '&',
  '(',
  ')',
  '$((1+1))',
  '.',
  'x',
  'é',
  'Ω',
  'ÿ',
  '日本語',
  '🦓',
  '\u00a0',
  '\u0085',
  '\u2028',
  '\u202e',
  '\ufeff',
];
/** Blanks and control characters: fine in most paths, refused where zoo.cfg carries the value. */
const CONTROL = ['\n', '\r', '\t', '\r\n', '\u0001', '\u001b[31m', '\u007f', '\u000b', '\u000c'];

const pick = (xs: readonly string[]) => fc.constantFrom(...xs);
const frags = (alphabet: fc.Arbitrary<string>, max = 4) => fc.array(alphabet, { minLength: 1, maxLength: max }).map((a) => a.join(''));

const CONTROL_RE = /[\x00-\x1f\x7f]/;
/** A `..` segment (two '.' fragments side by side) is what the loader refuses: the refusal tests make it on purpose. */
const noDotDot = (t: string) => !t.split('/').includes('..');
/** After a slot's own directory: hostile text (possibly more segments), for any path. */
const anyPathTail = frags(
  fc.oneof(
    { weight: 6, arbitrary: pick(SPECIAL) },
    { weight: 3, arbitrary: pick(INJECT) },
    { weight: 2, arbitrary: pick(CONTROL) },
    { weight: 1, arbitrary: pick(['/', '//', '/x/']) },
  ),
).filter(noDotDot);
/** The same for a data directory: no control characters, no blank at the end (the schema refuses them). */
const dataTail = frags(
  fc.oneof(
    { weight: 6, arbitrary: pick(SPECIAL) },
    { weight: 3, arbitrary: pick(INJECT.filter((f) => !CONTROL_RE.test(f))) },
    { weight: 1, arbitrary: pick(['/', '//', '/x/']) },
  ),
).filter((t) => !/[\x00-\x20\x7f]$/.test(t) && noDotDot(t));
const HOST_OK = /^[^\s\x00-\x20\x7f@/[\];|]+$/;
const hostTail = frags(fc.oneof(pick(SPECIAL), pick(INJECT_TIGHT))).filter((h) => HOST_OK.test(h));
const UNIT_OK = /^[A-Za-z0-9:_.@\\][A-Za-z0-9:_.@\\-]*$/;
const unitTail = frags(pick(['-', '--', '\\', '\\x2d', ':', '@', '.', '_', 'x', 'zk', '-H', '--now', '9']));
const znodeTail = frags(fc.oneof(pick(SPECIAL), pick(INJECT), pick(CONTROL))).map((s) => s.replace(/\//g, '|'));
const localTail = frags(fc.oneof(pick(SPECIAL), pick(INJECT), pick(CONTROL)));

interface Tails {
  home: string[];
  config: string;
  data: string[];
  log: string[];
  host: string[];
  unit: string;
  thome: string;
  tconfig: string;
  tmpHome: string;
  tmpConfig: string;
  tmpData: string;
  tmpLog: string;
  canary: string;
  znode: string;
  ephemeral: string;
  identity: string;
  identity2: string;
  knownHosts: string;
}

const tailsArb: fc.Arbitrary<Tails> = fc.record({
  home: fc.array(anyPathTail, { minLength: 2, maxLength: 2 }),
  config: anyPathTail,
  data: fc.array(dataTail, { minLength: 5, maxLength: 5 }),
  log: fc.array(dataTail, { minLength: 2, maxLength: 2 }),
  host: fc.array(hostTail, { minLength: 6, maxLength: 6 }),
  unit: unitTail.map((u) => (UNIT_OK.test(u) ? u : `zk${u}`)),
  thome: anyPathTail,
  tconfig: anyPathTail,
  tmpHome: anyPathTail,
  tmpConfig: anyPathTail,
  tmpData: dataTail,
  tmpLog: dataTail,
  canary: znodeTail,
  znode: znodeTail,
  ephemeral: znodeTail,
  identity: localTail,
  identity2: localTail.map((s) => `~/${s}`),
  knownHosts: localTail,
});

type Kind = 'rolling-log4j' | 'rolling-4925' | 'rebuild';

/** Every slot's value for a plan whose paths lie under `root`. */
function values(t: Tails, root: string) {
  const p = (slot: string, tail: string) => `${root}/${slot}/${tail}`;
  return {
    home: t.home.map((x, i) => p(`home${i}`, x)),
    config: p('config', x0(t.config)),
    data: t.data.map((x, i) => p(`data${i}`, x)),
    log: t.log.map((x, i) => p(`log${i}`, x)),
    host: t.host.map((x, i) => `${x}.h${i}`),
    unit: `${t.unit}.service`,
    thome: p('thome', t.thome),
    tconfig: p('tconfig', x0(t.tconfig)),
    tmpHome: p('tmphome', t.tmpHome),
    tmpConfig: p('tmpconfig', x0(t.tmpConfig)),
    tmpData: p('tmpdata', t.tmpData),
    tmpLog: p('tmplog', t.tmpLog),
    canary: `/zkroll/${t.canary}`,
    znode: `/${t.znode}`,
    ephemeral: `/${t.ephemeral}`,
    identity: t.identity,
    identity2: t.identity2,
    knownHosts: t.knownHosts,
  };
}
type Values = ReturnType<typeof values>;

/** A config file's name must not be empty (a trailing '/' would make it a directory). */
function x0(tail: string): string {
  return `${tail}.cfg`;
}

function planDoc(kind: Kind, v: Values): Record<string, unknown> {
  const health = { canaryPath: v.canary, requiredZnodes: [{ path: v.znode, minChildren: 0 }] };
  const ssh = { user: 'root', identityFile: v.identity, knownHosts: v.knownHosts };
  if (kind !== 'rebuild') {
    const [current, target] = kind === 'rolling-log4j' ? ['3.4.13', '3.7.2'] : ['3.8.0', '3.9.3'];
    return {
      version: 1,
      cluster: { name: 'hostile', version: current },
      ssh,
      servers: [
        { myid: 1, host: v.host[0], home: v.home[0], config: v.config, dataDir: v.data[0], dataLogDir: v.log[0], service: { kind: 'systemd', unit: v.unit } },
        { myid: 2, host: v.host[1], home: v.home[1], dataDir: v.data[1] },
        { myid: 3, host: v.host[2], home: v.home[0], dataDir: v.data[2], dataLogDir: v.log[1], ssh: { identityFile: v.identity2 } },
        { myid: 4, host: v.host[3], home: v.home[1], dataDir: v.data[3], role: 'observer' },
      ],
      target: { version: target, home: v.thome, config: v.tconfig },
      strategy: { kind: 'rolling' },
      health,
    };
  }
  return {
    version: 1,
    cluster: { name: 'hostile', version: '3.4.6' },
    ssh,
    servers: [6, 7, 8, 9, 10].map((myid, i) => ({
      myid,
      host: v.host[i],
      home: v.home[i % 2],
      dataDir: v.data[i],
      ...(i < 2 ? { dataLogDir: v.log[i] } : {}),
      ...(i === 1 ? { config: v.config } : {}),
      ...(i === 3 ? { service: { kind: 'systemd', unit: v.unit } } : {}),
    })),
    target: { version: '3.4.13', home: v.thome, config: v.tconfig },
    strategy: {
      kind: 'rebuild',
      temporary: { myid: 1, host: v.host[5], home: v.tmpHome, config: v.tmpConfig, dataDir: v.tmpData, dataLogDir: v.tmpLog },
      broken: [6, 8],
      renumber: { 6: 2, 8: 3, 7: 4, 9: 5, 10: 6 },
      preserveEphemerals: [v.ephemeral],
    },
    health,
  };
}

const FILE = path.join(sb.dir, 'hostile plan.yaml');

function load(doc: Record<string, unknown>) {
  fs.writeFileSync(FILE, stringify(doc, { lineWidth: 0 }));
  return loadPlanFile(FILE);
}

// ---------- running the commands ----------

interface Cmd {
  argv: string[];
  timeoutMs: number;
}

/** Every remote command of every step, the run id filled in as the executor does, each once. */
function commandsOf(c: Compiled): Cmd[] {
  const all: RemoteCommand[] = c.steps.flatMap((s) => [...s.commands, ...(s.byMember ?? []).flatMap((m) => m.commands)]);
  const seen = new Map<string, Cmd>();
  for (const x of all) {
    const argv = x.argv.map((a) => a.replaceAll('@RUN@', RUN));
    seen.set(JSON.stringify(argv), { argv, timeoutMs: x.timeoutMs });
  }
  return [...seen.values()];
}

/** The directories and install scripts the commands expect, created under the sandbox. */
function prepare(plan: Plan): void {
  const nodes = [...plan.servers, ...(plan.strategy.kind === 'rebuild' ? [plan.strategy.temporary] : [])];
  for (const n of nodes) for (const d of [n.dataDir, n.dataLogDir]) fs.mkdirSync(path.join(d, 'version-2'), { recursive: true });
  const homes = new Set([...nodes.map((n) => n.home), plan.target.home]);
  for (const h of homes) {
    fs.mkdirSync(path.join(h, 'bin'), { recursive: true });
    const script = `${h}/bin/zkServer.sh`;
    if (!fs.existsSync(script)) fs.symlinkSync(sb.stub, script);
  }
}

/** The stub runs of command `i` (1-based), in order. */
const runsOf = (r: CommandRun, i: number): StubRun[] => r.runs.filter((x) => x.cmd === i);

/** The run of a program as it was called: by its path (argv[0] with '/') or found on PATH. */
function calledAs(run: StubRun | undefined): string[] {
  if (run === undefined) return [];
  return [run.self.startsWith(`${sb.bin}/`) ? run.self.slice(sb.bin.length + 1) : run.self, ...run.args];
}

function checkCommands(cmds: Cmd[], hostile: string[], label: string): void {
  const lines = cmds.map((c) => shellCommand(c.argv));
  const direct = sb.run('sh', lines);
  const wrapped = cmds.map((c, i) => wrapCommand(lines[i]!, c.timeoutMs, i % 2 === 0));
  const viaLogin = sb.run('bash', wrapped);
  cmds.forEach((c, i) => {
    const n = i + 1;
    const what = `${label}: command ${n} ${JSON.stringify(c.argv)}`;
    // the login shell hands `sh -c` the command exactly (through sudo and timeout)
    const login = runsOf(viaLogin, n);
    const timeout = ['timeout', '-k', '5', String(remoteTimeoutSecs(c.timeoutMs)), 'sh', '-c', lines[i]!];
    const expectWrap = i % 2 === 0 ? [['sudo', '-n', ...timeout], timeout, ['sh', '-c', lines[i]!]] : [timeout, ['sh', '-c', lines[i]!]];
    assert.deepEqual(login.slice(0, expectWrap.length).map(calledAs), expectWrap, `${what}: the wrapper`);
    for (const [how, r, rest] of [
      ['sh -c', direct, runsOf(direct, n)],
      ['bash -c (wrapped)', viaLogin, login.slice(expectWrap.length)],
    ] as const) {
      assert.equal(r.rc[i], 0, `${what} under ${how} exited ${r.rc[i]}: ${r.out[i]}`);
      if (c.argv[0] === 'test') {
        assert.equal(rest.length, 0, what); // a builtin: its exit code says the path arrived whole
        continue;
      }
      // the first program gets the argv byte for byte
      assert.deepEqual(calledAs(rest[0]), c.argv, `${what} under ${how}: the program's argv`);
      // a script's hostile arguments reach the programs it runs whole (the split reader's last
      // two, its zoo.cfg spellings, go to printf: checkReaderConfigs reads what it wrote)
      if (c.argv[0] === 'sh') {
        const seen = rest.slice(1).flatMap((x) => x.args);
        const args = c.argv[3] === 'zkroll-split-reader' ? c.argv.slice(4, 9) : c.argv.slice(4);
        for (const a of args.filter((x) => hostile.some((h) => x.includes(h))))
          assert.ok(
            seen.some((s) => s.includes(a)),
            `${what} under ${how}: argument ${JSON.stringify(a)} reached no program whole: ${JSON.stringify(rest.slice(1).map(calledAs))}`,
          );
      }
      for (const x of rest) assert.notEqual(x.self.split('/').pop(), 'touch', `${what}: touch ran: ${JSON.stringify(calledAs(x))}`);
    }
  });
}

// ---------- the files zkroll writes ----------

/** Files for the java.util.Properties read at the end: path -> what zkroll's reader says. */
const forJava: { file: string; expect: Record<string, string>; trimmed: Record<string, string> }[] = [];
let javaFiles = 0;

function queueForJava(content: string, trimmed: Record<string, string>): void {
  const file = path.join(sb.dir, `java-${++javaFiles}.cfg`);
  fs.writeFileSync(file, content, 'utf8'); // as SshHost.writeFileAtomic sends it
  const expect: Record<string, string> = {};
  for (const l of parseProperties(content).lines) if (l.key !== null) expect[l.key] = l.value!;
  forJava.push({ file, expect, trimmed });
}

function checkZooCfg(content: string, node: NodeRef, fw: Extract<FileWrite, { kind: 'zoo.cfg' }>, what: string): void {
  const doc = parseProperties(content);
  assert.equal(propertyValue(doc, 'dataDir'), node.dataDir, `${what}: dataDir`);
  if (node.dataLogDir !== node.dataDir) assert.equal(propertyValue(doc, 'dataLogDir'), node.dataLogDir, `${what}: dataLogDir`);
  const hosts = new Map<number, string>();
  for (const l of doc.lines) {
    const id = l.key === null ? null : parseServerKey(l.key);
    if (id !== null) hosts.set(id, parseServerValue(id, l.value!).addresses[0]!.host);
  }
  assert.deepEqual(
    [...hosts.entries()],
    fw.servers.map((s) => [s.myid, s.host]),
    `${what}: server lines`,
  );
  queueForJava(content, {
    dataDir: node.dataDir,
    ...(node.dataLogDir !== node.dataDir ? { dataLogDir: node.dataLogDir } : {}),
  });
}

/** What sh (and bash) make of a zookeeper-env.sh zkEnv.sh sources: ZOO_LOG_DIR, nothing run. */
function sourced(file: string, shell: 'sh' | 'bash', logDir?: string): string {
  const log = path.join(sb.dir, 'env.log');
  fs.writeFileSync(log, '');
  const r = spawnSync(`/bin/${shell}`, ['-c', '. "$1" && printf %s "$ZOO_LOG_DIR"', 'zkh', file], {
    cwd: sb.cwd,
    env: { PATH: sb.bin, HOME: sb.home, ZKH_LOG: log, ZKH_ROOT: sb.root, ZKH_SANDBOX: sb.dir, ...(logDir ? { ZOO_LOG_DIR: logDir } : {}) },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.readFileSync(log, 'utf8'), '', `sourcing ${file} ran a program`);
  return r.stdout;
}

function checkFiles(plan: Plan, c: Compiled, label: string): void {
  const initial = plannedFiles(plan);
  // the stand-ins for the hosts' zoo.cfg read back as the plan says
  for (const s of plan.servers) {
    const base = initial.get(`${s.host}\u0000${s.config}`)!;
    assert.equal(propertyValue(parseProperties(base), 'dataDir'), s.dataDir, `${label}: planned zoo.cfg of ${s.host}`);
  }
  const changes = simulateWrites(c, initial);
  // each path once, with what the run leaves there
  writeOnHost([...new Map([...changes.values()].flat().map((f) => [f.path, f])).values()], label);
  for (const step of c.steps) {
    const node = step.target.kind === 'node' ? step.target.node : null;
    const written = changes.get(step.n) ?? [];
    for (const fw of step.files) {
      const what = `${label}: step ${step.n} ${fw.path}`;
      const f = written.find((x) => x.path === fw.path);
      assert.ok(f, `${what}: not written`);
      if (fw.kind === 'zoo.cfg') checkZooCfg(f.content, fw.node, fw, what);
      else if (fw.path.endsWith('/myid')) {
        assert.equal(fw.path, `${node!.dataDir}/myid`, what);
        assert.equal(f.content, `${node!.myid}\n`, what);
      } else if (fw.path.endsWith('/conf/zookeeper-env.sh')) {
        assert.equal(fw.path, `${plan.target.home}/conf/zookeeper-env.sh`, what);
        const file = path.join(sb.dir, 'zookeeper-env.sh');
        fs.writeFileSync(file, f.content);
        for (const shell of ['sh', 'bash'] as const) {
          assert.equal(sourced(file, shell), `${plan.target.home}/logs`, `${what} sourced by ${shell}`);
          assert.equal(sourced(file, shell, '/elsewhere'), '/elsewhere', `${what} sourced by ${shell} with ZOO_LOG_DIR set`);
        }
      } else assert.ok([`${plan.target.home}/conf/log4j.properties`, `${plan.target.home}/conf/logback.xml`].includes(fw.path), what);
    }
  }
  // znode paths go to the ZooKeeper client as they are
  assert.equal(c.settings.canaryPath, plan.health.canaryPath);
  assert.deepEqual(c.settings.preserveEphemerals, plan.strategy.kind === 'rebuild' ? plan.strategy.preserveEphemerals : []);
  for (const g of c.steps.flatMap((s) => s.gates)) {
    if (g.kind === 'canary') assert.equal(g.path, plan.health.canaryPath);
    if (g.kind === 'znodes') assert.deepEqual(g.znodes, plan.health.requiredZnodes);
  }
}

/**
 * The files written as the executor writes them over SSH (exec/env.ts writeKeeping): `mkdir -p`
 * of the directory, a stat, then on a sudo host the sudofiles.ts write script with the content
 * on stdin, elsewhere (after the SFTP upload of a temp file, here done by that same script) the
 * rename script; then read back with the sudo read script. Every path is hostile; the tools run
 * for real inside the sandbox.
 */
function writeOnHost(files: { path: string; content: string; mode: number }[], label: string): void {
  const cmds: string[] = [];
  const stdin: (Buffer | undefined)[] = [];
  const reads = new Map<number, string>();
  files.forEach((f, k) => {
    const data = Buffer.from(f.content, 'utf8');
    const push = (cmd: string, input?: Buffer) => (cmds.push(cmd), stdin.push(input), cmds.length - 1);
    push(shellCommand(['mkdir', '-p', f.path.slice(0, f.path.lastIndexOf('/')) || '/']));
    push(sudoStatScript(f.path));
    if (k % 2 === 0) push(sudoWriteScript(f.path, tempPathFor(f.path), f.mode), data);
    else {
      const tmp = tempPathFor(f.path);
      push(sudoWriteScript(tmp, tempPathFor(tmp), f.mode), data);
      push(renameScript(tmp, f.path));
    }
    reads.set(push(sudoReadScript(f.path)), f.content);
    push(sudoStatScript(f.path));
  });
  const r = sb.run('sh', cmds, { stdin, real: true });
  cmds.forEach((cmd, i) => assert.equal(r.rc[i], 0, `${label}: ${JSON.stringify(cmd)} exited ${r.rc[i]}: ${r.out[i]}`));
  for (const [i, content] of reads) assert.equal(r.out[i], content, `${label}: ${JSON.stringify(cmds[i])} read back something else`);
  for (const f of files) {
    assert.equal(fs.readFileSync(f.path, 'utf8'), f.content, `${label}: ${f.path}`);
    assert.equal(fs.statSync(f.path).mode & 0o777, f.mode, `${label}: mode of ${f.path}`);
  }
  for (const x of r.runs) assert.notEqual(x.self.split('/').pop(), 'touch', `${label}: touch ran: ${JSON.stringify(calledAs(x))}`);
}

/** The split-window readers' zoo.cfg, written on the host by the start script (printf). */
function checkReaderConfigs(plan: Plan, c: Compiled, label: string): void {
  for (const m of c.steps.flatMap((s) => (s.action === 'split-window' ? (s.byMember ?? []) : []))) {
    const node = oldNode(plan.servers.find((x) => x.myid === m.myid)!);
    const tmp = readerDir(node).replaceAll('@RUN@', RUN);
    const file = path.join(tmp, 'zoo.cfg');
    assert.ok(fs.existsSync(file), `${label}: the reader of ${m.myid} wrote no ${file}`);
    const content = fs.readFileSync(file, 'utf8');
    const doc = parseProperties(content);
    assert.equal(propertyValue(doc, 'dataDir'), `${tmp}/data`, `${label}: reader zoo.cfg dataDir`);
    assert.equal(propertyValue(doc, 'clientPortAddress'), node.host, `${label}: reader zoo.cfg clientPortAddress`);
    queueForJava(content, { dataDir: `${tmp}/data`, clientPortAddress: node.host });
  }
}

/** Java's String.trim (every char <= U+0020 at both ends), as QuorumPeerConfig applies it. */
function javaTrim(s: string): string {
  return s.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, '');
}

// ---------- the property ----------

function hostileOf(v: Values): string[] {
  return [...v.home, v.config, ...v.data, ...v.log, ...v.host, v.unit, v.thome, v.tconfig, v.tmpHome, v.tmpConfig, v.tmpData, v.tmpLog];
}

function runPlan(kind: Kind, t: Tails): void {
  const root = sb.fresh();
  const v = values(t, root);
  const r = load(planDoc(kind, v));
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatPlanError).join('\n'));
  const plan = r.plan;
  const c = compile(plan);
  prepare(plan);
  const label = `${kind} under ${root}`;
  checkCommands(commandsOf(c), hostileOf(v), label);
  assert.deepEqual(sb.find(CANARY, [sb.cwd, root, sb.home]), [], `${label}: the canary appeared`);
  assert.equal(fs.existsSync(ABS_CANARY), false, `${label}: the canary appeared`);
  checkFiles(plan, c, label);
  checkReaderConfigs(plan, c, label);
  assert.deepEqual(sb.find(CANARY, [sb.cwd, root, sb.home]), [], `${label}: the canary appeared`);
  assert.equal(fs.existsSync(ABS_CANARY), false, `${label}: the canary appeared`);
}

// ---------- refusals ----------

const BENIGN: Tails = {
  home: ['h', 'h'],
  config: 'c',
  data: ['d', 'd', 'd', 'd', 'd'],
  log: ['l', 'l'],
  host: ['zk', 'zk', 'zk', 'zk', 'zk', 'zk'],
  unit: 'zookeeper',
  thome: 't',
  tconfig: 't',
  tmpHome: 'th',
  tmpConfig: 'tc',
  tmpData: 'td',
  tmpLog: 'tl',
  canary: 'canary',
  znode: 'z',
  ephemeral: 'e',
  identity: 'id',
  identity2: 'id2',
  knownHosts: 'kh',
};

/** A plan of `kind` with benign values, then `set` applied to the parsed document. */
function planWith(kind: Kind, set: (doc: Record<string, unknown>, v: Values) => void) {
  const v = values(BENIGN, sb.fresh());
  const doc = planDoc(kind, v);
  set(doc, v);
  return load(doc);
}

function setPath(doc: Record<string, unknown>, at: (string | number)[], value: unknown): void {
  let o = doc as Record<string | number, unknown>;
  for (const k of at.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[at[at.length - 1]!] = value;
}

/** [field, value]: each is a plan error at that field, and nothing else is. */
const REFUSED: [Kind, (string | number)[], (v: Values) => string][] = [
  ...['a\nb', 'tab\there', 'trailing ', 'cr\r', 'esc\u001b[31m', 'nul\u0000', 'del\u007f', '../up'].map(
    (t): [Kind, (string | number)[], (v: Values) => string] => ['rolling-log4j', ['servers', 0, 'dataDir'], (v) => `${v.data[0]}/${t}`],
  ),
  ['rolling-log4j', ['servers', 0, 'dataDir'], () => 'relative/data'],
  ['rolling-log4j', ['servers', 0, 'dataLogDir'], (v) => `${v.log[0]}/x\n`],
  ['rolling-log4j', ['servers', 1, 'dataDir'], (v) => `${v.data[1]} `],
  ['rebuild', ['strategy', 'temporary', 'dataDir'], (v) => `${v.tmpData}\t`],
  ['rebuild', ['strategy', 'temporary', 'dataLogDir'], (v) => `${v.tmpLog}/a\rb`],
  ['rolling-log4j', ['servers', 0, 'home'], (v) => `${v.home[0]}/..`],
  ['rolling-log4j', ['target', 'home'], (v) => `${v.thome}/../x`],
  ['rolling-log4j', ['target', 'config'], () => 'zoo.cfg'],
  ...['a;b', 'a|b', 'a b', 'a\nb', 'a\u0001b', 'a\u007fb', 'a@b', 'a/b', '[x', 'x]', ''].map((h): [Kind, (string | number)[], (v: Values) => string] => [
    'rolling-log4j',
    ['servers', 2, 'host'],
    () => h,
  ]),
  ['rebuild', ['strategy', 'temporary', 'host'], () => '$(touch PWNED);x'],
  ...['-H', '--now', '-zk.service', 'zk service', 'zk;x', '$(touch PWNED)', 'zk\n'].map((u): [Kind, (string | number)[], (v: Values) => string] => [
    'rolling-log4j',
    ['servers', 0, 'service', 'unit'],
    () => u,
  ]),
  ...['/', '/a//b', '/a/', 'a', '/a\u0000b', ''].map((z): [Kind, (string | number)[], (v: Values) => string] => [
    'rolling-4925',
    ['health', 'canaryPath'],
    () => z,
  ]),
  ['rebuild', ['strategy', 'preserveEphemerals', 0], () => '/jodis/'],
  ['rolling-4925', ['cluster', 'name'], () => '$(touch PWNED)'],
  ['rolling-4925', ['cluster', 'name'], () => '-x'],
  ['rolling-4925', ['ssh', 'user'], () => 'root;touch PWNED'],
  ['rolling-4925', ['ssh', 'jumpHost'], () => 'ops@bastion;touch PWNED'],
  ['rolling-4925', ['target', 'version'], () => '3.9.3 $(touch PWNED)'],
  ['rolling-4925', ['ssh', 'identityFile'], () => 'key\u0000'],
];

describe('hostile values: regressions', () => {
  it('zoo.cfg values are written in printable ASCII: "é" as \\u00e9 (ZooKeeper reads zoo.cfg as ISO-8859-1; raw UTF-8 came back as "Ã©")', () => {
    assert.equal(escapeValue('/data/é ☃ 🦓'), '/data/\\u00e9 \\u2603 \\ud83e\\udd93');
    assert.equal(propertyValue(parseProperties(`dataDir=${escapeValue('/data/é ☃ 🦓')}\n`), 'dataDir'), '/data/é ☃ 🦓');
  });

  it('the planned stand-in zoo.cfg escapes its values (a "\\" in a dataDir was written raw and read back without it)', () => {
    const node: NodeRef = { host: 'h\\1', myid: 1, home: '/h', config: '/h/zoo.cfg', dataDir: '/d\\x é', dataLogDir: '/l\\y' };
    const doc = parseProperties(synthesizeZooCfg(node, [{ myid: 1, host: 'h\\1', quorumPort: 2888, electionPort: 3888, clientPort: 2181 }], 2181));
    assert.deepEqual(
      ['dataDir', 'dataLogDir', 'server.1'].map((k) => propertyValue(doc, k)),
      ['/d\\x é', '/l\\y', 'h\\1:2888:3888'],
    );
  });

  it("zookeeper-env.sh quotes the target's home: zkEnv.sh sources it, and a home with $(…) ran it", () => {
    const home = `${sb.root}/env/$(touch ${CANARY})\`x\` "q" \'s\' }{`;
    const file = path.join(sb.dir, 'env-regression.sh');
    fs.writeFileSync(file, log4jEnvBlock(home));
    for (const shell of ['sh', 'bash'] as const) assert.equal(sourced(file, shell), `${home}/logs`);
    assert.deepEqual(sb.find(CANARY, [sb.cwd]), []);
    // a plain home keeps the line it always had
    assert.match(log4jEnvBlock('/opt/zookeeper-3.4.13'), /^ZOO_LOG_DIR="\$\{ZOO_LOG_DIR:-\/opt\/zookeeper-3\.4\.13\/logs\}"$/m);
  });

  it("the split-window reader's zoo.cfg gets its dataDir and address escaped (printf wrote them raw)", () => {
    const o: NodeRef = { host: 'h\\x', myid: 1, home: '/h', config: '/h/c', dataDir: '/d\\é', dataLogDir: '/d\\é' };
    const [start] = readerCommands(o, 2181, 1000);
    assert.deepEqual(start!.argv.slice(-2), ['/d\\\\\\u00e9.zkroll-split-@RUN@/data', 'h\\\\x']);
  });

  it('a host with ";" or "|" is a plan error (the server.N line could not be written: `zkroll plan` died with a ServerLineError)', () => {
    for (const host of ['a;b', 'a|b']) {
      const r = planWith('rolling-4925', (doc) => setPath(doc, ['servers', 0, 'host'], host));
      assert.ok(!r.ok);
      assert.match(formatPlanError(r.errors[0]!), /:\d+:\d+: servers\[0\]\.host: expected a host name or IP address .*none of @ \/ ; \| \[ \]/);
    }
  });

  it('a systemd unit starting with "-" is a plan error (systemctl start -H… would read it as an option)', () => {
    const r = planWith('rolling-4925', (doc) => setPath(doc, ['servers', 0, 'service'], { kind: 'systemd', unit: '-Hroot@elsewhere' }));
    assert.ok(!r.ok);
    assert.match(r.errors[0]!.message, /^servers\[0\]\.service\.unit: expected a systemd unit name .*not starting with "-"/);
  });

  it('a dataDir with a line break or a trailing blank is a plan error (zoo.cfg cannot carry it: ZooKeeper trims, zkServer.sh reads lines)', () => {
    for (const d of ['/data/zk\n', '/data/zk ', '/data/a\tb']) {
      const r = planWith('rolling-4925', (doc) => setPath(doc, ['servers', 1, 'dataDir'], d));
      assert.ok(!r.ok, JSON.stringify(d));
      assert.match(
        r.errors[0]!.message,
        /^servers\[1\]\.dataDir: expected a data directory with no line break, tab or other control character and no blank at the end/,
      );
    }
  });
});

/** JSON, with the C1 controls and DEL escaped too (a test name shows them). */
const show = (s: string) => JSON.stringify(s).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

describe('hostile values the loader refuses', () => {
  for (const [kind, at, value] of REFUSED) {
    it(`${formatPath(at)} = ${show(value(values(BENIGN, '/r')))}: located plan errors, all at that field`, () => {
      const r = planWith(kind, (doc, v) => setPath(doc, at, value(v)));
      assert.ok(!r.ok, 'accepted');
      for (const e of r.errors) {
        assert.ok(e.line !== undefined && e.col !== undefined, formatPlanError(e));
        assert.ok(e.message.startsWith(`${formatPath(at)}: `), formatPlanError(e));
      }
    });
  }
});

describe('hostile values in every path and name', () => {
  for (const kind of ['rolling-log4j', 'rolling-4925', 'rebuild'] as const) {
    it(`${kind}: commands run as argv, the canary never appears, the files carry the values back`, () => {
      fc.assert(
        fc.property(tailsArb, (t) => runPlan(kind, t)),
        params(kind === 'rebuild' ? 12 : 10),
      );
    });
  }

  it('java.util.Properties reads every zoo.cfg zkroll wrote as zkroll does, and ZooKeeper gets the values', (t) => {
    const java = spawnSync('sh', ['-c', 'command -v java'], { encoding: 'utf8' }).stdout.trim();
    if (java === '' || forJava.length === 0) {
      t.skip('no java on PATH');
      return;
    }
    const src = path.join(sb.dir, 'ReadProps.java');
    fs.writeFileSync(
      src,
      `import java.io.*; import java.util.*;
public class ReadProps {
  static String hex(String s) { StringBuilder b = new StringBuilder(); for (char c : s.toCharArray()) b.append(String.format("%04x", (int) c)); return b.toString(); }
  public static void main(String[] a) throws Exception {
    for (String f : a) {
      Properties p = new Properties();
      try (FileInputStream in = new FileInputStream(f)) { p.load(in); }
      System.out.println("F " + hex(f));
      for (String k : p.stringPropertyNames()) System.out.println("P " + hex(k) + " " + hex(p.getProperty(k)));
    }
  }
}
`,
    );
    const r = spawnSync(java, [src, ...forJava.map((x) => x.file)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, r.stderr);
    const unhex = (h: string) => String.fromCharCode(...(h.match(/.{4}/g) ?? []).map((x) => parseInt(x, 16)));
    const read = new Map<string, Record<string, string>>();
    let cur: Record<string, string> = {};
    for (const line of r.stdout.split('\n')) {
      const [tag, a, b] = line.split(' ');
      if (tag === 'F') read.set(unhex(a!), (cur = {}));
      else if (tag === 'P') cur[unhex(a!)] = unhex(b ?? '');
    }
    for (const f of forJava) {
      const got = read.get(f.file)!;
      assert.deepEqual(got, f.expect, `${f.file}: java.util.Properties and zkroll read it differently`);
      // QuorumPeerConfig.parseProperties trims every value
      for (const [k, v] of Object.entries(f.trimmed)) assert.equal(javaTrim(got[k]!), v, `${f.file}: ${k} as ZooKeeper reads it`);
    }
  });
});
