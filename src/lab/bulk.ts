// Production-size data for the lab: `lab up --data-mb N` loads about N MiB of znodes with
// payloads shaped like what ZooKeeper holds under Kafka, Codis and HBase (JSON of 100 B to 4 KiB,
// 1 KiB on average: 1024 znodes per MiB), in groups of 1000 children under /lab/bulk, as one
// client pipelining multi transactions of 100 creates on one session (zk/wire.ts): about 1 000 000 znodes for 1 GiB.
// Invariants: deterministic (the same N gives the same tree on every run); a node that exists
// already is kept (a second load is harmless); any other error stops the load.
import { ZkError, ZNODEEXISTS } from '../zk/client.js';
import { WireSession } from '../zk/wire.js';

/** Average payload (bytes): 1024 znodes per MiB. */
export const MEAN_PAYLOAD = 1024;
const GROUP = 1000;
/** Creates per transaction (a multi of about 100 KiB, well under jute.maxbuffer's 1 MiB). */
export const BATCH = 100;
const ROOT = '/lab/bulk';

/** A small deterministic generator (mulberry32), so every lab loads the same data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KINDS = ['kafka-partition-state', 'codis-slot', 'hbase-region', 'flink-checkpoint'] as const;

/** The payload of bulk znode `i`: JSON, 100 B to 4 KiB (mean about 1 KiB). */
export function payload(i: number): Buffer {
  const r = rng(i + 1);
  const size = Math.round(100 + -Math.log(1 - r() * 0.98) * 930) % 4096;
  const head = JSON.stringify({
    kind: KINDS[i % KINDS.length],
    id: i,
    leader: Math.floor(r() * 9),
    isr: [1, 2, 3].map(() => Math.floor(r() * 9)),
    epoch: Math.floor(r() * 1000),
    pad: '',
  });
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let pad = '';
  while (pad.length < size - head.length) pad += chars[Math.floor(r() * chars.length)];
  return Buffer.from(head.replace('"pad":""', `"pad":"${pad}"`));
}

export const bulkPath = (i: number): string => `${ROOT}/g-${String(Math.floor(i / GROUP)).padStart(4, '0')}/n-${String(i).padStart(7, '0')}`;

/** How many znodes `mb` MiB are. */
export const bulkCount = (mb: number): number => Math.round(mb * 1024);

async function createKept(s: WireSession, path: string, data: Buffer): Promise<void> {
  try {
    await s.create(path, data);
  } catch (e) {
    if (!(e instanceof ZkError && e.rc === ZNODEEXISTS)) throw e;
  }
}

/**
 * Load `count` bulk znodes through the server at host:port with `depth` transactions of BATCH creates in flight;
 * `progress` hears every tenth. Resolves with the payload bytes written.
 * Throws ZkError when the server cannot be reached or a create fails for another reason than
 * an existing node.
 */
export async function loadBulk(host: string, port: number, count: number, progress: (done: number) => void, depth = 16): Promise<number> {
  const s = await WireSession.connect(host, port, 15000);
  let bytes = 0;
  try {
    for (const p of ['/lab', ROOT]) await createKept(s, p, Buffer.alloc(0));
    const groups = Math.ceil(count / GROUP);
    for (let g = 0; g < groups; g++) await createKept(s, bulkPath(g * GROUP).replace(/\/n-\d+$/, ''), Buffer.alloc(0));
    let next = 0;
    let done = 0;
    let told = 0;
    const worker = async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + BATCH);
        const nodes = Array.from({ length: next - from }, (_, k) => ({ path: bulkPath(from + k), data: payload(from + k) }));
        // a batch that fails as a whole (some of it was loaded before) goes again node by node
        if (!(await s.createAll(nodes))) for (const n of nodes) await createKept(s, n.path, n.data);
        for (const n of nodes) bytes += n.data.length;
        done += nodes.length;
        if (done - told >= count / 10) progress((told = done));
      }
    };
    await Promise.all(Array.from({ length: Math.min(depth, Math.ceil(count / BATCH)) }, worker));
    return bytes;
  } finally {
    await s.close();
  }
}
