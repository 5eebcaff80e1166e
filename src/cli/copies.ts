// `zkroll copies <plan> [--clean]`: after a rebuild, which persistent copies of ephemeral nodes
// (<name>.zkroll-persisted) are shadowed by their re-registered owners; --clean removes those
// (only those), after writing their paths and data to a dated file in the run's state
// directory: nothing is lost. Copies whose owner did not come back are kept.
import { formatHostPort } from '../plan/host.js';
import fs from 'node:fs';
import path from 'node:path';
import { runIdNow, stateDir } from '../machine/store.js';
import { allHosts } from '../plan/helpers.js';
import { table } from '../ui/table.js';
import { ZkClient } from '../zk/client.js';
import { probeSrvr } from '../zk/fourlw.js';
import { findPersistedCopies, removeCopies } from '../zk/persisted.js';
import { CliError, EXIT, loadOrFail } from './common.js';

export async function cmdCopies(file: string, clean: boolean, out: (s: string) => void): Promise<number> {
  const plan = loadOrFail(file);
  const roots = plan.strategy.kind === 'rebuild' ? plan.strategy.preserveEphemerals : [];
  if (roots.length === 0) {
    out(`${file}: the plan preserves no ephemeral nodes (strategy.preserveEphemerals): nothing to report`);
    return EXIT.ok;
  }
  const port = plan.cluster.ports.client;
  const serving = (
    await Promise.all(
      allHosts(plan).map(async (h) =>
        (await probeSrvr(h.host, port, 1500, { adminPort: plan.cluster.adminPort }).catch(() => null)) ? formatHostPort(h.host, port) : null,
      ),
    )
  ).filter((x) => x !== null);
  if (serving.length === 0) throw new CliError('no server of the plan serves', EXIT.failed);
  const zk = await ZkClient.connect(serving.join(','), 10000);
  try {
    const copies = await findPersistedCopies(zk, roots);
    out(
      copies.length === 0
        ? 'no persistent copies'
        : table(
            ['copy', 'owner', 'state'],
            copies.map((c) => [c.copy, c.original, c.shadowed ? 'shadowed (owner is back)' : 'owner NOT back: kept']),
          ),
    );
    if (!clean) return EXIT.ok;
    const shadowed = copies.filter((c) => c.shadowed);
    if (shadowed.length === 0) {
      out('nothing to remove');
      return EXIT.ok;
    }
    const dir = stateDir(file, plan.cluster.name);
    fs.mkdirSync(dir, { recursive: true });
    const saved = path.join(dir, `persisted-copies-${runIdNow()}.json`);
    fs.writeFileSync(
      saved,
      JSON.stringify(
        shadowed.map((c) => ({ path: c.copy, dataBase64: c.data })),
        null,
        2,
      ),
    );
    const removed = await removeCopies(zk, shadowed);
    out(`removed ${removed.length} shadowed copies; their paths and data are kept in ${saved}`);
    return EXIT.ok;
  } finally {
    zk.close();
  }
}
