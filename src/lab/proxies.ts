// Lab process that behaves like Codis proxies towards ZooKeeper: each proxy keeps its own
// session and registers an ephemeral /jodis/<product>/proxy-<token> with Codis-style JSON.
// After a reconnect (to any server of the connect string) or a session expiry it registers
// again. Runs until SIGTERM. Invariants: never deletes a node it did not create in this
// session; checks its registration every second, so a lost ephemeral comes back quickly.
import { ZkClient, ZkError, ZNODEEXISTS } from '../zk/client.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`proxies: --${name} is required`);
  return v;
}

const connect = arg('connect');
const product = arg('product');
const count = Number(arg('count', '3'));
const log = (m: string) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);

class Proxy {
  private zk: ZkClient | null = null;
  private busy = false;
  constructor(
    readonly index: number,
    readonly token: string,
  ) {}

  get path(): string {
    return `/jodis/${product}/proxy-${this.token}`;
  }

  /** Make sure we have a live session and our ephemeral node exists. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.zk === null || this.zk.isClosed) {
        this.zk = await ZkClient.connect(
          connect,
          10000,
          {
            onConnect: () => void this.tick(),
            onClose: (code) => log(`proxy ${this.index}: session closed (${String(code)}), will open a new one`),
          },
          6000,
        );
        log(`proxy ${this.index}: session open`);
      }
      if ((await this.zk.exists(this.path)) === null) {
        await this.zk.mkdirp(`/jodis/${product}`);
        const data = JSON.stringify({
          token: this.token,
          state: 'online',
          addr: `127.0.0.1:${19000 + this.index}`,
          admin_addr: `127.0.0.1:${11080 + this.index}`,
          product_name: product,
          start_time: new Date().toISOString(),
        });
        try {
          await this.zk.create(this.path, data, true);
          log(`proxy ${this.index}: registered ${this.path}`);
        } catch (e) {
          if (!(e instanceof ZkError && e.rc === ZNODEEXISTS)) throw e;
        }
      }
    } catch (e) {
      log(`proxy ${this.index}: ${e instanceof Error ? e.message : String(e)} (retrying)`);
      if (this.zk && !this.zk.isClosed && e instanceof ZkError && e.rc === null) {
        this.zk.close();
        this.zk = null;
      }
    } finally {
      this.busy = false;
    }
  }

  close(): void {
    this.zk?.close();
  }
}

const proxies = Array.from({ length: count }, (_, i) => new Proxy(i + 1, `${process.pid.toString(16)}${String(i + 1).padStart(4, '0')}`));
log(`starting ${count} proxies of ${product} against ${connect}`);
const timer = setInterval(() => proxies.forEach((p) => void p.tick()), 1000);
proxies.forEach((p) => void p.tick());

const stop = () => {
  clearInterval(timer);
  proxies.forEach((p) => p.close());
  log('stopped');
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
