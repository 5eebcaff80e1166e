// The checks' view of an SSH connection: run a read-only script, read a file, read the data
// directories. Read-only: every command is audited with purpose `read`.
// Invariants: a command that could not run answers null (the check becomes "unknown").
import type { CheckHost } from './checks.js';
import { readDataDirs, sshDataRemote } from './datadir.js';
import type { SshHost } from '../remote/ssh.js';

/** The checks' view of an SSH connection. */
export function checkHost(ssh: SshHost): CheckHost {
  return {
    run: async (script, args) => {
      const r = await ssh.exec(['sh', '-c', script, 'sh', ...args], { timeoutMs: 20000, raw: true, purpose: 'read' }).catch(() => null);
      return r ? { code: r.code, stdout: r.stdout } : null;
    },
    read: async (p) => (await ssh.readIfExists(p))?.toString('utf8') ?? null,
    data: (dataDir, dataLogDir, runningZxid) => readDataDirs(sshDataRemote(ssh, 60000), dataDir, dataLogDir, runningZxid),
  };
}
