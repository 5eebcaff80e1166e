// RemoteError: the single error type thrown by src/remote/*, plus mapping of
// raw ssh2 / socket errors onto it.
//
// Invariants:
//  - Every message starts with the host label and says what to do next.
//  - Messages never contain key material or stdin contents.
//  - `kind` is a closed set callers can switch on; `result` is attached when
//    a command ran but its outcome was refused (exit code, remote timeout).

export type RemoteErrorKind = 'unreachable' | 'auth' | 'hostkey-unknown' | 'hostkey-changed' | 'hostkey-revoked' | 'timeout' | 'closed' | 'io';

export interface ExecResult {
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** The command as the caller asked for it (before timeout/sudo wrapping). */
  command: string;
}

export class RemoteError extends Error {
  override readonly name = 'RemoteError';
  readonly kind: RemoteErrorKind;
  /** Host label (as in HostTarget.label). */
  readonly host: string;
  /** The command outcome, when the error is about a command that ran. */
  readonly result?: ExecResult;

  constructor(kind: RemoteErrorKind, host: string, message: string, opts?: { cause?: unknown; result?: ExecResult }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.kind = kind;
    this.host = host;
    if (opts?.result !== undefined) this.result = opts.result;
  }
}

/** "zk1 (10.0.0.1:2222)" or just "10.0.0.1:2222" when the label is the address. */
export function describeHost(t: { label: string; host: string; port: number }): string {
  const addr = `${t.host}:${t.port}`;
  return t.label === addr || t.label === t.host ? addr : `${t.label} (${addr})`;
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN']);

interface Ssh2ErrorShape {
  message?: string;
  code?: unknown;
  level?: unknown;
}

/**
 * Map an error emitted by ssh2's Client before 'ready' to a RemoteError.
 * `socketConnected` tells a TCP-level silence apart from a stalled handshake.
 */
export function classifyConnectError(
  err: unknown,
  t: { label: string; host: string; port: number; user: string; connectTimeoutMs: number },
  ctx: { socketConnected: boolean; authMethods: string[] },
): RemoteError {
  const who = describeHost(t);
  const e = (typeof err === 'object' && err !== null ? err : {}) as Ssh2ErrorShape;
  const msg = e.message ?? String(err);
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code !== undefined && UNREACHABLE_CODES.has(code)) {
    const what =
      code === 'ECONNREFUSED'
        ? 'connection refused (is sshd running and listening on that port?)'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? `cannot resolve host name ${t.host}`
          : `no route / no answer (${code})`;
    return new RemoteError(
      'unreachable',
      t.label,
      `${who}: cannot connect to ${t.host}:${t.port}: ${what}. Check the host address and port in the plan and that the machine is up.`,
      { cause: err },
    );
  }
  if (e.level === 'client-dns') {
    return new RemoteError('unreachable', t.label, `${who}: cannot resolve host name ${t.host} (${msg}). Fix the host address in the plan.`, { cause: err });
  }
  if (e.level === 'client-timeout') {
    if (!ctx.socketConnected) {
      return new RemoteError(
        'unreachable',
        t.label,
        `${who}: no answer from ${t.host}:${t.port} within ${t.connectTimeoutMs} ms. Check that the machine is up and the port is reachable (firewall?).`,
        { cause: err },
      );
    }
    return new RemoteError(
      'timeout',
      t.label,
      `${who}: SSH handshake/authentication did not finish within ${t.connectTimeoutMs} ms. The server may be overloaded; retry or raise the connect timeout.`,
      { cause: err },
    );
  }
  if (e.level === 'client-authentication' || e.level === 'agent') {
    const tried = ctx.authMethods.length > 0 ? ctx.authMethods.join(', ') : 'none';
    return new RemoteError(
      'auth',
      t.label,
      `${who}: authentication as user "${t.user}" failed (tried: ${tried}). Check ssh.user / ssh.identityFile in the plan and that the public key is in ~${t.user}/.ssh/authorized_keys.`,
      { cause: err },
    );
  }
  return new RemoteError('closed', t.label, `${who}: SSH connection failed: ${msg}`, { cause: err });
}
