// Lab process: a client that keeps writing, to measure the outage a run causes as a client sees
// it. Started by `lab up` beside the Codis-like proxies (src/lab/lab.ts startWriter), given every
// server of the config like real clients; writes one small znode (WRITER_PATH) WRITER_HZ times a
// second through the ZooKeeper client, one write in flight at a time, and appends each change of
// outcome to a JSON-lines file (times in epoch ms):
//   {"t":…,"event":"start","connect":"…","path":"/lab-writer/w","hz":15}
//   {"t":…,"event":"ok","acked":N}               a write acknowledged after an error (or the first one); t = its answer;
//        after an outage also "failed":K (writes that failed in it) and "lastError":"…" (its last error)
//   {"t":…,"event":"error","error":"…","acked":N} a write that failed or was slow after ok; t = when it was sent
//   {"t":…,"event":"heartbeat","state":"ok"|"error"|"none","acked":N}   once a minute
//   {"t":…,"event":"stop","acked":N}             on SIGTERM/SIGINT
// `acked` counts acknowledged writes since start. A write unanswered after STALL_MS is an outage
// from the moment it was sent, until a write is answered (during an election the client library
// queues requests and answers them late rather than failing them). Runs until SIGTERM. The lab's
// Java clients (java/ZkrollLabClient.java) write the same lines, with reads counted too.
// Invariants: the node lives outside /lab (the lab tests count the nodes under /lab) and its
// data never changes (the data checks compare contents: a changing value would show up as a
// difference between servers and as a write carried across a split window); never more than one
// write in flight; every line is appended whole (appendFileSync).
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ZkClient, ZkError, ZNODEEXISTS, ZNONODE } from '../zk/client.js';

/** The znode the writer sets (outside /lab: the lab tests count the nodes under /lab). */
export const WRITER_PATH = '/lab-writer/w';
/** Writes per second. */
export const WRITER_HZ = 15;
/** A write unanswered for this long (ms) counts as failed from the moment it was sent. */
const STALL_MS = 250;
/** ZooKeeper's ZSESSIONEXPIRED. */
const SESSION_EXPIRED = -112;
/** The node's data, the same in every write. */
const DATA = 'zkroll lab writer';

const { values } = parseArgs({ options: { connect: { type: 'string' }, out: { type: 'string' } } });
if (values.connect === undefined || values.out === undefined) throw new Error('writer: --connect <servers> and --out <file> are required');
const connect = values.connect;
const out = values.out;
const emit = (event: string, fields: Record<string, unknown> = {}, t = Date.now()) => fs.appendFileSync(out, JSON.stringify({ t, event, ...fields }) + '\n');
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

let zk: ZkClient | null = null;
let acked = 0;
let state: 'none' | 'ok' | 'error' = 'none';
/** Send time (ms) of the write in flight, or null. */
let inFlight: number | null = null;
/** In the current outage: writes that failed, the send time of the last one counted, the last error. */
let outage = { failed: 0, lastAt: -1, lastError: '' };

/**
 * Outcome of one write sent at `sentAt` (ms): `error` null when acknowledged. A failed or slow
 * write starts an outage at `sentAt`; an acknowledged one ends it when it is answered.
 */
function outcome(sentAt: number, error: string | null): void {
  const now = Date.now();
  const failed = error ?? (now - sentAt >= STALL_MS ? `answered after ${now - sentAt} ms` : null);
  if (failed !== null) {
    if (state !== 'error') {
      emit('error', { error: failed, acked }, sentAt);
      outage = { failed: 0, lastAt: -1, lastError: failed };
    }
    state = 'error';
    if (sentAt !== outage.lastAt) outage.failed++;
    outage.lastAt = sentAt;
    // (the late answer that ends an outage is no error of its own: the errors before it tell more)
    if (error !== null) outage.lastError = error;
  }
  if (error !== null) return;
  acked++;
  if (state !== 'ok') emit('ok', { acked, ...(outage.failed > 0 ? { failed: outage.failed, lastError: outage.lastError } : {}) }, now);
  outage.failed = 0;
  state = 'ok';
}

async function session(): Promise<ZkClient> {
  if (zk === null || zk.isClosed) zk = await ZkClient.connect(connect, 5000, {}, 6000);
  return zk;
}

/** One write: set the node, creating it (and its parent) when missing. */
async function write(): Promise<void> {
  const c = await session();
  try {
    await c.set(WRITER_PATH, DATA);
  } catch (e) {
    if (!(e instanceof ZkError && e.rc === ZNONODE)) throw e;
    await c.mkdirp(WRITER_PATH.slice(0, WRITER_PATH.lastIndexOf('/')));
    await c.create(WRITER_PATH, DATA).catch((x: unknown) => {
      if (!(x instanceof ZkError && x.rc === ZNODEEXISTS)) throw x;
    });
  }
}

function tick(): void {
  const now = Date.now();
  if (inFlight !== null) {
    if (now - inFlight >= STALL_MS) outcome(inFlight, `no answer within ${STALL_MS} ms`);
    return;
  }
  const sentAt = now;
  inFlight = sentAt;
  write().then(
    () => {
      inFlight = null;
      outcome(sentAt, null);
    },
    (e: unknown) => {
      inFlight = null;
      outcome(sentAt, errText(e));
      // a connection that could not be made, or a session that expired: open a new one
      if (zk !== null && e instanceof ZkError && (e.rc === null || e.rc === SESSION_EXPIRED)) {
        zk.close();
        zk = null;
      }
    },
  );
}

emit('start', { connect, path: WRITER_PATH, hz: WRITER_HZ });
const writes = setInterval(tick, Math.round(1000 / WRITER_HZ));
const heartbeat = setInterval(() => emit('heartbeat', { state, acked }), 60_000);
tick();

const stop = () => {
  clearInterval(writes);
  clearInterval(heartbeat);
  emit('stop', { acked });
  zk?.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
