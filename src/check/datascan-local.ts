// The data scan run on this machine: exactly the remote command of datascan.ts (sh, mktemp, the
// embedded class on stdin, this machine's java), spawned locally instead of through SSH, so the
// same code judges a directory here as on a host. For the tests (fixtures and damaged variants)
// and for a copy of a dataDir.
// Invariants: the files given are only read; verdictOfFiles writes its directory under the OS
// temp dir and removes it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DataRemote } from './datadir.js';
import { continuity, type Continuity } from './datafiles.js';
import { answerOf, dataScanArgv, dataScanClass, runDataScan, type DataScan } from './datascan.js';

/** A DataRemote that runs commands here (`env`: the environment they get, default this process's). */
export function localDataRemote(env: NodeJS.ProcessEnv = process.env): DataRemote {
  return {
    host: 'localhost',
    exec: (argv, stdin) =>
      new Promise((resolve, reject) => {
        const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => err.push(d));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
        child.stdin.on('error', () => undefined);
        child.stdin.end(stdin ?? Buffer.alloc(0));
      }),
  };
}

/** Scan a dataDir and dataLogDir on this machine, as readDataDirs does on a host. */
export function scanLocally(dataDir: string, dataLogDir: string, env?: NodeJS.ProcessEnv): Promise<DataScan> {
  const r = localDataRemote(env);
  return runDataScan((argv, stdin) => r.exec(argv, stdin), r.host, dataDir, dataLogDir);
}

/**
 * Judge each file whole, by its name (the scanner's --files mode: snapshots read to the end,
 * logs' entries read), in the order given; `chunk`: the most bytes one read asks for.
 */
export async function scanFilesLocally(files: string[], chunk?: number): Promise<DataScan> {
  const args = [...(chunk === undefined ? [] : ['--chunk', String(chunk)]), '--files', ...files];
  return answerOf(await localDataRemote().exec(dataScanArgv(args), dataScanClass()), 'localhost', 'files');
}

/** The continuity verdict on one version-2 directory given as {file name: its bytes} (its dataDir and dataLogDir in one). */
export async function verdictOfFiles(files: Record<string, Buffer>): Promise<Continuity> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-data-'));
  try {
    fs.mkdirSync(path.join(dir, 'version-2'));
    for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'version-2', name), bytes);
    return continuity((await scanLocally(dir, dir)).files);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
