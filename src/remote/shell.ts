// zkroll's remote shell: one long-lived POSIX sh dispatcher per host and run, started once over
// one exec channel (so the login shell and its startup files run once), to which commands are
// sent and from which each command's exit code, stdout and stderr come back as one frame — the
// idea of Ansible's pipelining and Mitogen, in plain sh + coreutils (mktemp, mkfifo, head, stat,
// cat, timeout), nothing to install on the host.
//
// Wire protocol (after the dispatcher printed `ZKROLL-SHELL <nonce> <pid>`):
//   request  `<id> <secs> <cap> <lines> <stdinBytes>\n`, the script as <lines> lines, then
//            <stdinBytes> bytes of stdin (read with `head -c`, which never reads past them);
//   response `ZKR <id> <rc> <sentOut> <sentErr> <fullOut> <fullErr>\n`, then sentOut bytes of
//            stdout and sentErr bytes of stderr (the last bytes when the output was longer).
// Each command runs as `timeout -k 5 <secs> sh -c <script>` in the background with its stdin,
// stdout and stderr in files of a private temp dir (removed as each frame is sent and when the
// shell ends), so commands run concurrently, binary output is exact, and a daemon a command
// leaves behind holds no pipe of ours.
//
// Invariants:
//  - The script reaches `sh -c` byte for byte (NUL excepted, which argv cannot carry anyway).
//  - Everything the login shell prints before the handshake is ignored (a nonce marks it).
//  - Every run() settles exactly once: with its frame, with the shell's failure (transport
//    closed: outcome unknown), or at its local deadline (secs + kill grace + grace), which also
//    ends the shell: a shell that misses a deadline is presumed wedged and is not reused.
//  - Frames are parsed from a byte stream without copying the stream more than once.
import { randomBytes } from 'node:crypto';
import { RemoteError } from './errors.js';
import { KILL_AFTER_SECS, OUTPUT_CAP_BYTES, remoteTimeoutSecs } from './executil.js';

/** Exit code of the dispatcher when it cannot set itself up (no temp dir, no fifo, no GNU head). */
export const SHELL_SETUP_FAILED = 97;
const STDERR_CAP = OUTPUT_CAP_BYTES;
/** Frames up to this size (bytes of output) are staged and sent with one write. */
const SMALL_FRAME = 65536;
/** The frame sent when a command's output cannot be read back (exit code 255, this as stderr). */
export const OUTPUT_LOST = 'zkroll remote shell: the output of this command was lost (its temp dir is full or gone)';

/**
 * The dispatcher, run as `sh -c <script>` (under `sudo -n` on sudo hosts). Commands inherit the
 * login's umask and environment. It ends (and zkroll starts a new one) on anything it cannot
 * trust: end of input, a malformed or cut-off request, stdin it could not store whole.
 */
export function shellScript(nonce: string): string {
  return [
    // `head -c N` must stop reading at N bytes: GNU head does (head.c reads at most what is
    // left); BusyBox's reads ahead through stdio and would swallow the next request
    'head --version 2>/dev/null | grep -q GNU || { echo "zkroll remote shell: needs GNU head" >&2; exit 97; }',
    'd=$(mktemp -d "${TMPDIR:-/tmp}/zkroll-sh.XXXXXX") || exit 97',
    'mkfifo "$d/q" || { rm -rf "$d"; exit 97; }',
    'exec 3<>"$d/q"',
    // the emitter: one frame per finished command, in the order they finish. It reads the fifo
    // on a read-only descriptor of its own, so once the dispatcher and every running command
    // are gone (even by SIGKILL) it sees end of file, cleans up and ends: the channel closes.
    '(',
    '  exec 3<&- 4<"$d/q"',
    '  while IFS=" " read -r id cap <&4; do',
    '    f=$d/$id',
    '    rc=; read -r rc < "$f.rc"',
    '    case $rc in ""|*[!0-9]*) rc=255;; esac',
    '    set -- $(stat -c %s "$f.o" "$f.e" 2>/dev/null)',
    '    sent=',
    '    if [ $# -eq 2 ]; then',
    '      so=$1; se=$2',
    `      [ "$so" -gt "$cap" ] && so=$cap; [ "$se" -gt ${STDERR_CAP} ] && se=${STDERR_CAP}`,
    '      h="ZKR $id $rc $so $se $1 $2"',
    `      if [ "$so" = "$1" ] && [ "$se" = "$2" ] && [ $(($1 + $2)) -le ${SMALL_FRAME} ]; then`,
    // staged, checked (a daemon the command left may still write to its output; /tmp may be
    // full), then sent in one write: sshd sets no TCP_NODELAY on exec sessions, and a second
    // small write would wait for the peer's delayed ACK (~40 ms)
    '        { printf "%s\n" "$h"; cat "$f.o" "$f.e"; } > "$f.h" 2>/dev/null',
    '        [ "$(stat -c %s "$f.h" 2>/dev/null)" = $((${#h} + 1 + so + se)) ] ||',
    '          { printf "%s\n" "$h"; head -c "$so" "$f.o"; head -c "$se" "$f.e"; } > "$f.h" 2>/dev/null',
    '        [ "$(stat -c %s "$f.h" 2>/dev/null)" = $((${#h} + 1 + so + se)) ] && cat "$f.h" && sent=1',
    '      else',
    // large: straight from the files, exactly the sizes the header names (head/tail -c)
    '        printf "%s\n" "$h"',
    '        if [ "$so" = "$1" ]; then head -c "$so" "$f.o"; else tail -c "$so" "$f.o"; fi',
    '        if [ "$se" = "$2" ]; then head -c "$se" "$f.e"; else tail -c "$se" "$f.e"; fi',
    '        sent=1',
    '      fi',
    '    fi',
    `    [ -n "$sent" ] || printf "ZKR %s 255 0 %s 0 %s\n%s" "$id" ${OUTPUT_LOST.length} ${OUTPUT_LOST.length} "${OUTPUT_LOST}"`,
    '    rm -f "$f.o" "$f.e" "$f.rc" "$f.i" "$f.h"',
    '  done',
    '  rm -rf "$d"',
    ') &',
    'w=$!',
    'trap \'kill "$w" 2>/dev/null; rm -rf "$d"\' EXIT',
    "trap 'exit 129' HUP",
    "trap 'exit 143' TERM",
    `printf "ZKROLL-SHELL %s %s\\n" ${nonce} "$$"`,
    'while IFS=" " read -r id secs cap n ilen x; do',
    '  case "$id.$secs.$cap.$n.$ilen" in *[!0-9.]*|*..*|.*|*.) exit 3;; esac',
    '  [ -z "$x" ] || exit 3',
    '  s=; i=0',
    '  while [ "$i" -lt "$n" ]; do',
    // a request cut off by the end of input is not run
    '    IFS= read -r l || exit 3',
    '    if [ "$i" = 0 ]; then s=$l; else s="$s',
    '$l"; fi',
    '    i=$((i+1))',
    '  done',
    '  in=/dev/null',
    '  if [ "$ilen" -gt 0 ]; then',
    '    in=$d/$id.i',
    '    head -c "$ilen" > "$in"',
    // stdin not stored whole (cut off, disk full): its rest would be read as requests
    '    [ "$(stat -c %s "$in" 2>/dev/null)" = "$ilen" ] || exit 3',
    '  fi',
    `  ( timeout -k ${KILL_AFTER_SECS} "$secs" sh -c "$s" < "$in" > "$d/$id.o" 2> "$d/$id.e" 3>&-; echo $? > "$d/$id.rc"; echo "$id $cap" >&3 ) &`,
    'done',
    // end of input: zkroll is done (or gone); running commands finish, then the emitter ends
    'exec 3>&-',
    "trap '' EXIT",
    'wait',
  ].join('\n');
}

/** The byte pipes of a started dispatcher: an ssh2 exec channel, or a local child in tests. */
export interface ShellTransport {
  write(data: Buffer): void;
  end(): void;
  destroy(): void;
  onStdout(cb: (d: Buffer) => void): void;
  onStderr(cb: (d: Buffer) => void): void;
  /** Called once when the pipes are gone; `code` is the dispatcher's exit code when known. */
  onClose(cb: (code: number | null) => void): void;
}

export interface ShellRun {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
  /** The command wrote more than the cap; `stdout` holds its last bytes. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
}

export interface ShellRequest {
  script: string;
  timeoutMs: number;
  stdin?: string | Buffer;
  /** Most stdout bytes to bring back (the last ones), default 64 KiB. */
  cap?: number;
}

export interface ShellContext {
  label: string;
  /** "label (host:port)" for messages. */
  who: string;
  /** How long past a command's deadline (+ kill grace) to wait for its frame, ms. */
  graceMs: number;
  /** The connection's own error once it is gone (preferred over "the shell ended"). */
  closedErr: () => RemoteError | null;
}

interface Pending {
  resolve: (r: ShellRun) => void;
  reject: (e: RemoteError) => void;
  timer: NodeJS.Timeout;
  started: number;
}

/** Where a frame of the response stream stands. */
interface Frame {
  id: number;
  rc: number;
  sentOut: number;
  sentErr: number;
  fullOut: number;
  fullErr: number;
}

const HEADER = /^ZKR (\d+) (-?\d+) (\d+) (\d+) (\d+) (\d+)$/;

export class RemoteShell {
  /** The dispatcher's pid on the host (from its handshake). */
  readonly pid: number;
  /** Milliseconds from opening the channel to the handshake: the login shell's cost. */
  readonly startMs: number;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buf: Buffer[] = [];
  private bufLen = 0;
  private frame: Frame | null = null;
  private dead: RemoteError | null = null;
  /** When the last bytes arrived (ms): a shell still sending is busy, not hung. */
  private lastDataAt = Date.now();

  private constructor(
    private readonly t: ShellTransport,
    private readonly ctx: ShellContext,
    pid: number,
    startMs: number,
    rest: Buffer,
  ) {
    this.pid = pid;
    this.startMs = startMs;
    t.onStdout((d) => this.onData(d));
    t.onClose((code) => {
      const why = code === null ? 'ended' : `exited with code ${code}`;
      this.fail(
        ctx.closedErr() ??
          new RemoteError(
            'closed',
            ctx.label,
            `${ctx.who}: zkroll's remote shell ${why}; the outcome of the commands it was running is unknown. It is restarted for the next command.`,
          ),
        false,
      );
    });
    if (rest.length > 0) this.onData(rest);
  }

  /** Is the shell still usable? */
  get alive(): boolean {
    return this.dead === null;
  }

  /** Why the shell ended (null while alive). */
  get failure(): RemoteError | null {
    return this.dead;
  }

  /**
   * Start a dispatcher on `t` (already running `sh -c shellScript(nonce)`): waits for its
   * handshake for at most `startTimeoutMs`. Rejects with RemoteError 'io' naming the exit code
   * and stderr when the dispatcher ends first (97: no temp dir or fifo), 'timeout' otherwise.
   */
  static start(t: ShellTransport, nonce: string, ctx: ShellContext & { startTimeoutMs: number }): Promise<RemoteShell> {
    const t0 = Date.now();
    const marker = Buffer.from(`ZKROLL-SHELL ${nonce} `);
    return new Promise((resolve, reject) => {
      let out = Buffer.alloc(0);
      let err = '';
      let done = false;
      const settle = (f: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        f();
      };
      const timer = setTimeout(() => {
        settle(() => {
          t.destroy();
          reject(
            new RemoteError(
              'timeout',
              ctx.label,
              `${ctx.who}: zkroll's remote shell did not start within ${ctx.startTimeoutMs} ms (the login shell's startup files may hang)${err ? `; stderr: ${err.trim().slice(-400)}` : ''}`,
            ),
          );
        });
      }, ctx.startTimeoutMs);
      t.onStderr((d) => {
        if (err.length < 8192) err += d.toString('utf8');
      });
      t.onStdout((d) => {
        if (done) return;
        out = Buffer.concat([out, d]);
        const at = out.indexOf(marker);
        if (at < 0) {
          // keep a tail long enough to hold a marker split across chunks
          if (out.length > 65536) out = out.subarray(out.length - marker.length);
          return;
        }
        const nl = out.indexOf(10, at);
        if (nl < 0) return;
        const pid = Number(out.subarray(at + marker.length, nl).toString());
        settle(() => resolve(new RemoteShell(t, ctx, pid, Date.now() - t0, out.subarray(nl + 1))));
      });
      t.onClose((code) => {
        settle(() => {
          const why = code === SHELL_SETUP_FAILED ? 'it could not make its temp dir or fifo' : `it exited${code === null ? '' : ` with code ${code}`}`;
          reject(
            new RemoteError('io', ctx.label, `${ctx.who}: zkroll's remote shell did not start: ${why}${err ? `; stderr: ${err.trim().slice(-600)}` : ''}`),
          );
        });
      });
    });
  }

  /** Run one script; resolves with its frame, rejects (RemoteError) when the shell fails. */
  run(req: ShellRequest): Promise<ShellRun> {
    if (this.dead !== null) return Promise.reject(this.dead);
    if (req.script.includes('\0')) return Promise.reject(new Error('remote script contains a NUL byte'));
    const id = this.nextId++;
    const secs = remoteTimeoutSecs(req.timeoutMs);
    const cap = Math.max(0, Math.floor(req.cap ?? OUTPUT_CAP_BYTES));
    const stdin = req.stdin === undefined ? Buffer.alloc(0) : typeof req.stdin === 'string' ? Buffer.from(req.stdin) : req.stdin;
    const lines = req.script.split('\n').length;
    const localMs = secs * 1000 + KILL_AFTER_SECS * 1000 + this.ctx.graceMs;
    return new Promise<ShellRun>((resolve, reject) => {
      const started = Date.now();
      // past the deadline, the answer may still be queued behind a large one that is arriving:
      // the shell is hung only when nothing has arrived for graceMs either
      const expire = (): void => {
        const quiet = Date.now() - this.lastDataAt;
        if (quiet < this.ctx.graceMs) {
          const p = this.pending.get(id);
          if (p !== undefined) p.timer = setTimeout(expire, this.ctx.graceMs - quiet);
          return;
        }
        this.fail(
          new RemoteError(
            'timeout',
            this.ctx.label,
            `${this.ctx.who}: no answer from zkroll's remote shell ${Date.now() - started} ms after sending a command (its own deadline is ${secs} s), and nothing from it for ${quiet} ms; the shell is presumed hung and is replaced. The host may be overloaded or the network partitioned; outcome unknown: ${req.script}`,
          ),
        );
      };
      this.pending.set(id, { resolve, reject, timer: setTimeout(expire, localMs), started });
      try {
        this.t.write(Buffer.concat([Buffer.from(`${id} ${secs} ${cap} ${lines} ${stdin.length}\n${req.script}\n`), stdin]));
      } catch (e) {
        this.fail(
          new RemoteError(
            'closed',
            this.ctx.label,
            `${this.ctx.who}: could not send to zkroll's remote shell (${(e as Error).message}); the command was not run.`,
            { cause: e },
          ),
        );
      }
    });
  }

  /** End the shell: running commands finish on the host, their results are not awaited. */
  close(): void {
    if (this.dead === null) this.fail(new RemoteError('closed', this.ctx.label, `${this.ctx.who}: zkroll's remote shell was closed by zkroll.`), false);
  }

  /** The transport closed under us (connection lost, dispatcher killed). */
  closed(reason: RemoteError): void {
    this.fail(reason, false);
  }

  private fail(err: RemoteError, destroy = true): void {
    if (this.dead !== null) return;
    this.dead = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    try {
      if (destroy) this.t.destroy();
      else this.t.end();
    } catch {
      /* already gone */
    }
  }

  private onData(d: Buffer): void {
    if (this.dead !== null) return;
    this.lastDataAt = Date.now();
    this.buf.push(d);
    this.bufLen += d.length;
    for (;;) {
      if (this.frame === null) {
        const head = this.takeLine();
        if (head === null) return;
        const m = HEADER.exec(head);
        if (m === null) {
          this.fail(
            new RemoteError(
              'io',
              this.ctx.label,
              `${this.ctx.who}: zkroll's remote shell sent something that is not a frame: ${JSON.stringify(head.slice(0, 200))}; the shell is replaced.`,
            ),
          );
          return;
        }
        const [id, rc, so, se, fo, fe] = m.slice(1).map(Number) as [number, number, number, number, number, number];
        this.frame = { id, rc, sentOut: so, sentErr: se, fullOut: fo, fullErr: fe };
      }
      const f = this.frame;
      if (this.bufLen < f.sentOut + f.sentErr) return;
      const body = this.take(f.sentOut + f.sentErr);
      this.frame = null;
      const p = this.pending.get(f.id);
      if (p === undefined) continue;
      this.pending.delete(f.id);
      clearTimeout(p.timer);
      p.resolve({
        code: f.rc,
        stdout: body.subarray(0, f.sentOut),
        stderr: body.subarray(f.sentOut),
        stdoutTruncated: f.fullOut > f.sentOut,
        stderrTruncated: f.fullErr > f.sentErr,
        durationMs: Date.now() - p.started,
      });
    }
  }

  /** The next line (without its newline) from the buffer, or null when none is complete. */
  private takeLine(): string | null {
    let off = 0;
    for (const b of this.buf) {
      const nl = b.indexOf(10);
      if (nl >= 0) {
        const line = this.take(off + nl + 1);
        return line.subarray(0, line.length - 1).toString('latin1');
      }
      off += b.length;
      if (off > 4096) {
        this.fail(
          new RemoteError('io', this.ctx.label, `${this.ctx.who}: zkroll's remote shell sent a frame header longer than 4096 bytes; the shell is replaced.`),
        );
        return null;
      }
    }
    return null;
  }

  private take(n: number): Buffer {
    const all = this.buf.length === 1 ? this.buf[0]! : Buffer.concat(this.buf, this.bufLen);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buf = rest.length > 0 ? [rest] : [];
    this.bufLen = rest.length;
    return out;
  }
}

/** A fresh nonce for a shell's handshake. */
export function shellNonce(): string {
  return randomBytes(9).toString('hex');
}
