// Shared plan fixtures for the plan-*.test.ts files.
// The line numbers in the comments are relied upon by tests that replace one line (see withLine)
// and assert exact line:col positions: keep every line where it is.
import assert from 'node:assert/strict';
import { formatPlanError, loadPlanText, type LoadResult } from '../../src/plan/load.js';
import type { Plan } from '../../src/plan/schema.js';

// prettier-ignore
export const REBUILD = [
  "version: 1",                                                                                        //  1
  "cluster:",                                                                                          //  2
  "  name: codis-incident",                                                                            //  3
  "  ports: { client: 2181, quorum: 2888, election: 3888 }",                                           //  4
  "ssh:",                                                                                              //  5
  "  user: root",                                                                                      //  6
  "  identityFile: ~/.ssh/id_ed25519",                                                                 //  7
  "servers:",                                                                                          //  8
  "  - { myid: 6, host: 127.0.10.6, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data }",   //  9
  "  - { myid: 7, host: 127.0.10.7, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data }",   // 10
  "  - { myid: 8, host: 127.0.10.8, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data }",   // 11
  "  - { myid: 9, host: 127.0.10.9, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data }",   // 12
  "  - { myid: 10, host: 127.0.10.10, home: /opt/zookeeper-3.4.6, dataDir: /var/lib/zookeeper/data }", // 13
  "target:",                                                                                           // 14
  '  version: "3.4.13"',                                                                               // 15
  "  home: /opt/zookeeper-3.4.13",                                                                     // 16
  "strategy:",                                                                                         // 17
  "  kind: rebuild",                                                                                   // 18
  "  temporary: { myid: 1, host: 127.0.10.1, dataDir: /var/lib/zookeeper/data }",                      // 19
  "  broken: [6, 8]",                                                                                  // 20
  "  renumber: { 6: 2, 8: 3, 7: 4, 9: 5, 10: 6 }",                                                     // 21
  "  seedFrom: leader",                                                                                // 22
  "  preserveEphemerals: [/jodis]",                                                                    // 23
  "health:",                                                                                           // 24
  "  requiredZnodes:",                                                                                 // 25
  "    - { path: /jodis/codis-demo, minChildren: 1 }",                                                 // 26
  "lab:",                                                                                              // 27
  "  proxies: { product: codis-demo, count: 3 }",                                                      // 28
  "",
].join("\n");

/** A rolling plan in block style, with per-host overrides. */
export const ROLLING = `version: 1
cluster:
  name: prod-zk
  adminPort: 9090
ssh:
  user: ops
  port: 2200
  jumpHost: jump@bastion.example.com:2222
  sudo: true
  connectTimeout: 2500
servers:
  - myid: 1
    host: zk1.example.com
    home: /opt/zookeeper-3.4.6
    config: /etc/zookeeper/zoo.cfg
    dataDir: /data/zk
    dataLogDir: /txlog/zk
    service: { kind: systemd, unit: zookeeper.service }
    ssh: { user: admin, identityFile: keys/zk1 }
  - myid: 2
    host: zk2.example.com
    home: /opt/zookeeper-3.4.6
    dataDir: /data/zk
  - myid: 3
    host: zk3.example.com
    home: /opt/zookeeper-3.4.6
    dataDir: /data/zk
target:
  version: "3.4.13"
  home: /opt/zookeeper-3.4.13
strategy:
  kind: rolling
health:
  pollInterval: 1s
  startDeadline: 90s
  gateDeadline: 5m
  canaryPath: /ops/canary
`;

/** `text` with its 1-based line `n` replaced by `line` (all other lines keep their numbers). */
export function withLine(text: string, n: number, line: string): string {
  const lines = text.split('\n');
  assert.ok(n >= 1 && n <= lines.length, `line ${n} out of range`);
  lines[n - 1] = line;
  return lines.join('\n');
}

export function loadOk(text: string): Plan {
  const r = loadPlanText(text, 'plans/test.yaml');
  if (!r.ok) assert.fail(`expected the plan to load, got:\n${r.errors.map(formatPlanError).join('\n')}`);
  return r.plan;
}

/** The formatted errors of a plan that must fail to load. */
export function loadErrors(text: string, file = 'plans/test.yaml'): string[] {
  const r: LoadResult = loadPlanText(text, file);
  if (r.ok) assert.fail('expected the plan to be rejected, but it loaded');
  return r.errors.map(formatPlanError);
}
