// A local sandbox for hostile-values.test.ts: compiled remote commands run for real under
// `/bin/sh -c` (and, the way the login shell runs them on an exec channel, under `/bin/bash -c`
// with zkroll's `[sudo -n ]timeout -k 5 N sh -c '…'` wrapper), with an empty environment whose
// PATH holds only stubs. Every stub logs its argv (NUL-separated, with the number of the command
// it ran under) and changes nothing, except:
//   - mkdir creates directories, and touch files, only under the sandbox (mkdir: anything else
//     is exit 1; touch: relative paths too, the working directory being in the sandbox);
//   - timeout, sudo and sh log, then run what they were given (sh: the real /bin/sh);
//   - du, cut, df, awk, dirname, date answer with fixed plausible output, grep always fails (so a
//     reader's `kill` is never reached).
// With ZKH_REAL=1 (the file writes zkroll does over SSH: sudofiles.ts scripts, the rename after
// an SFTP write), dd, chmod, mv, cat, stat and rm run for real, on paths under the sandbox only.
// Shell builtins (cd, test, printf, echo, redirections) run for real; every path a plan gives
// lies under the sandbox, so whatever they write lands there.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Programs the compiled commands (and their scripts) run, each a stub. */
export const STUBBED = [
  'systemctl',
  'tar',
  'mv',
  'cp',
  'rm',
  'rmdir',
  'mkdir',
  'cat',
  'grep',
  'kill',
  'sleep',
  'ss',
  'awk',
  'du',
  'cut',
  'df',
  'dirname',
  'date',
  'nohup',
  'java',
  'touch',
  'chmod',
  'dd',
  'ln',
  'env',
  'timeout',
  'sudo',
  'sh',
  'bash',
  'readlink',
  'stat',
  'head',
  'tail',
  'ls',
  'find',
  'xargs',
  'id',
  'curl',
  'wget',
  'python3',
  'perl',
];

const STUB = `#!/bin/sh
# one record per run, whole: stubs of a pipeline run at once
exec 9>> "$ZKH_LOG"
/usr/bin/flock 9
{ printf '%s\\0' REC "\${ZKH_CMD-}" "$0"; for a in "$@"; do printf '%s\\0' "$a"; done; printf '\\001ZKH-END\\002\\n'; } >&9
exec 9>&-
n=\${0##*/}
# file writes (ZKH_REAL=1): the file tools run for real, on paths in the sandbox only
if [ "\${ZKH_REAL-}" = 1 ]; then
  case $n in
    dd|chmod|mv|cat|stat|rm)
      for a in "$@"; do
        case $a in */../*|../*|*/..|..|of=*/../*) exit 1 ;; esac
        case $a in
          "$ZKH_ROOT"/*|of="$ZKH_ROOT"/*) ;;
          /*|of=/*) exit 1 ;;
        esac
      done
      exec "/bin/$n" "$@" ;;
  esac
fi
case $n in
  timeout) shift 3; exec "$@" ;;
  sudo) shift; exec "$@" ;;
  sh) exec /bin/sh "$@" ;;
  grep) exit 1 ;;
  du) printf '100\\t%s\\n' "$2" ;;
  cut) IFS= read -r l; printf '%s\\n' "\${l%%	*}" ;;
  df) printf 'Filesystem 1024-blocks Used Available Capacity Mounted\\nfs 1 1 999999999 1%% /\\n' ;;
  awk) case "$*" in *NR==2*) printf '999999999\\n' ;; esac ;;
  dirname) d=\${1%/*}; printf '%s\\n' "\${d:-/}" ;;
  date) printf '1\\n' ;;
  mkdir)
    for a in "$@"; do
      case $a in
        -p) ;;
        "$ZKH_ROOT"/*) case $a in */../*|*/..) exit 1 ;; esac; /bin/mkdir -p -- "$a" || exit 1 ;;
        *) exit 1 ;;
      esac
    done ;;
  touch)
    for a in "$@"; do case $a in "$ZKH_SANDBOX"/*|[!/]*) : > "$a" ;; esac; done ;;
esac
exit 0
`;

/** One logged stub run: under which command (1-based), the path it ran as, its arguments. */
export interface StubRun {
  cmd: number;
  self: string;
  args: string[];
}

export interface CommandRun {
  /** The stub runs, in order, of every command; `rc` of each. */
  runs: StubRun[];
  rc: number[];
  out: string[];
}

export class Sandbox {
  readonly bin: string;
  readonly root: string;
  readonly cwd: string;
  readonly home: string;
  private n = 0;

  constructor(readonly dir: string) {
    this.bin = path.join(dir, 'bin');
    this.root = path.join(dir, 'root');
    this.cwd = path.join(dir, 'cwd');
    this.home = path.join(dir, 'home');
    for (const d of [this.bin, this.root, this.cwd, this.home]) fs.mkdirSync(d, { recursive: true });
    const stub = path.join(dir, 'stub.sh');
    fs.writeFileSync(stub, STUB, { mode: 0o755 });
    for (const name of STUBBED) fs.symlinkSync(stub, path.join(this.bin, name));
  }

  get stub(): string {
    return path.join(this.dir, 'stub.sh');
  }

  /** A fresh directory under the sandbox's root for one plan's paths. */
  fresh(): string {
    const d = path.join(this.root, `p${++this.n}`);
    fs.mkdirSync(d);
    return d;
  }

  /**
   * Run `commands` one after the other, each as the host would: `sh -c <command>` (how zkroll's
   * remote shell runs it) or `bash -c <command>` (a login shell running the wrapped form).
   */
  run(shell: 'sh' | 'bash', commands: string[], opts: { stdin?: (Buffer | undefined)[]; real?: boolean } = {}): CommandRun {
    const log = path.join(this.dir, `log-${++this.n}`);
    const out = path.join(this.dir, `out-${this.n}`);
    fs.mkdirSync(out);
    const stdin = path.join(this.dir, `in-${this.n}`);
    fs.mkdirSync(stdin);
    opts.stdin?.forEach((b, i) => b !== undefined && fs.writeFileSync(path.join(stdin, String(i + 1)), b));
    const driver = [
      'i=0',
      'for c do',
      '  i=$((i+1))',
      '  in=/dev/null; [ -f "$ZKH_IN/$i" ] && in=$ZKH_IN/$i',
      `  ZKH_CMD=$i /bin/${shell} -c "$c" < "$in" > "$ZKH_OUT/$i" 2>&1`,
      '  rc=$?',
      `  ( exec 9>> "$ZKH_LOG"; /usr/bin/flock 9; { printf '%s\\0' RC "$i" "$rc"; printf '\\001ZKH-END\\002\\n'; } >&9 )`,
      'done',
      // a stub a command left in the background (nohup java … &) logs before this ends
      '/bin/sleep 0.05',
    ].join('\n');
    fs.writeFileSync(log, '');
    const r = spawnSync('/bin/sh', ['-c', driver, 'zkh-driver', ...commands], {
      cwd: this.cwd,
      env: {
        PATH: this.bin,
        HOME: this.home,
        ZKH_LOG: log,
        ZKH_OUT: out,
        ZKH_IN: stdin,
        ZKH_ROOT: this.root,
        ZKH_SANDBOX: this.dir,
        ...(opts.real ? { ZKH_REAL: '1' } : {}),
      },
      timeout: 120_000,
      encoding: 'utf8',
    });
    if (r.error || r.status !== 0) throw new Error(`sandbox driver failed: ${r.error?.message ?? `exit ${r.status}`}: ${r.stderr}`);
    const runs: StubRun[] = [];
    const rc: number[] = [];
    for (const rec of fs.readFileSync(log, 'utf8').split('\0\u0001ZKH-END\u0002\n')) {
      if (rec === '') continue;
      const f = rec.split('\0');
      if (f[0] === 'RC') rc[Number(f[1]) - 1] = Number(f[2]);
      else if (f[0] === 'REC') runs.push({ cmd: Number(f[1]), self: f[2]!, args: f.slice(3) });
      else throw new Error(`unreadable log record ${JSON.stringify(rec)}`);
    }
    const outs = commands.map((_, i) => {
      try {
        return fs.readFileSync(path.join(out, String(i + 1)), 'utf8');
      } catch {
        return '';
      }
    });
    return { runs, rc, out: outs };
  }

  /** Regular files named `name` under `dirs` (default: the whole sandbox). */
  find(name: string, dirs: string[] = [this.dir]): string[] {
    const found: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name === name && e.isFile()) found.push(p);
      }
    };
    for (const d of dirs) walk(d);
    return found;
  }
}
