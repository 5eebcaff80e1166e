// Shell scripts for file operations on hosts with `sudo: true`, where SFTP
// (which runs as the login user) cannot be used. They run through
// SshHost.exec, i.e. `sudo -n timeout ... sh -c '<script>'`.
//
// Invariants:
//  - Every path is quoted with shq.
//  - The atomic write mirrors the SFTP path: exclusive temp file next to the
//    target (noclobber), content from stdin, fsync (dd conv=fsync), chmod,
//    then `mv -f` (rename(2), atomic on one filesystem); the temp file is
//    removed on failure.

import { shq } from './quote.js';
import { statFromMode, type RemoteStat } from './sftp.js';

export const STAT_MISSING = 'ZKROLL-MISSING';

export function sudoReadScript(path: string): string {
  return `cat ${shq(path)}`;
}

export function sudoStatScript(path: string): string {
  const p = shq(path);
  return `if [ -e ${p} ]; then stat -L -c '%s %f %Y' ${p}; else echo ${STAT_MISSING}; fi`;
}

export function parseSudoStat(stdout: string): RemoteStat | null {
  const out = stdout.trim();
  if (out === STAT_MISSING) return null;
  const m = /^(\d+) ([0-9a-fA-F]+) (\d+)$/.exec(out);
  if (m === null || m[1] === undefined || m[2] === undefined || m[3] === undefined) {
    throw new Error(`unexpected stat output: ${JSON.stringify(out.slice(0, 200))}`);
  }
  return statFromMode(Number(m[1]), parseInt(m[2], 16), Number(m[3]));
}

/**
 * rename(2) via `mv -f`, refusing a directory target (mv would move the file
 * into it instead of replacing it).
 */
export function renameScript(from: string, to: string): string {
  const t = shq(to);
  return `{ if [ -d ${t} ]; then printf 'zkroll: %s is a directory\\n' ${t} >&2; false; else mv -f ${shq(from)} ${t}; fi; }`;
}

export function sudoWriteScript(path: string, tmpPath: string, mode: number): string {
  const p = shq(path);
  const t = shq(tmpPath);
  return [
    'umask 077',
    // noclobber in a subshell: refuses an existing temp path without making
    // the redirection error fatal for the whole script (POSIX 2.8.1)
    `( set -C; true > ${t} ) || { printf 'zkroll: cannot create temp file %s\\n' ${t} >&2; exit 1; }`,
    `if dd of=${t} bs=65536 conv=notrunc,fsync 2>/dev/null && chmod ${mode.toString(8)} ${t} && ${renameScript(tmpPath, path)}; then exit 0; fi`,
    `rm -f ${t}`,
    `printf 'zkroll: writing %s failed\\n' ${p} >&2`,
    'exit 1',
  ].join('\n');
}
