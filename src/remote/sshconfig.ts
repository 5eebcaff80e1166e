// Pure parser of OpenSSH client config text (~/.ssh/config, ssh_config(5))
// and resolution of the options that apply to one host alias. No file I/O.
//
// Invariants (OpenSSH readconf.c semantics, for the subset zkroll reads):
//  - Lines before the first `Host` apply to every host. A `Host` line lists
//    whitespace-separated patterns (`*`, `?`, `!neg`); it applies when some
//    positive pattern matches the alias and no negated one does (case-
//    insensitive: OpenSSH lower-cases the host name it matches).
//  - Keywords are case-insensitive; `Key value`, `Key=value`, `Key = value`;
//    "double" or 'single' quotes group words; an unquoted `#` starts a comment.
//  - The first obtained value wins, in file order. IdentityFile accumulates
//    (all values, in order). ProxyJump and ProxyCommand share one slot: the
//    first of the two wins, and `none` is a value (direct connection).
//  - `Match` blocks are NOT supported: everything from a `Match` line up to the
//    next `Host` line is skipped (recorded in `notes`). `Include` is skipped
//    too (this module reads no files). Unknown keywords are ignored.
//  - parseSshConfig only checks syntax; values (port numbers, ProxyJump specs,
//    %-tokens) are checked by resolveHost and only for options that apply to
//    the alias, so a bad block for an unrelated host does not stop zkroll.
//  - Expansion: `~` / `~/` and %%, %h, %n, %p, %r, %u, %d in IdentityFile and
//    UserKnownHostsFile; %% and %h in HostName. Other tokens are an error.

import os from 'node:os';
import path from 'node:path';
import { wildcardMatch } from './knownhosts.js';

export class SshConfigError extends Error {
  override readonly name = 'SshConfigError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export interface SshConfigOption {
  /** Lower-cased keyword. */
  keyword: string;
  args: string[];
  line: number;
}

export interface SshConfigBlock {
  /** Host patterns as written (["*"] for the lines before the first Host). */
  patterns: string[];
  line: number;
  options: SshConfigOption[];
}

export interface SshConfig {
  blocks: SshConfigBlock[];
  /** What was skipped (Match blocks, Include lines), for diagnostics. */
  notes: string[];
}

export interface JumpHop {
  user?: string;
  host: string;
  port?: number;
}

export interface ResolvedSshHost {
  alias: string;
  hostName?: string;
  user?: string;
  port?: number;
  /** Expanded, in config order (may be relative to the working directory). */
  identityFiles: string[];
  /** Jump hops in connection order; [] means `ProxyJump none` / `ProxyCommand none`. */
  proxyJump?: JumpHop[];
  /** Set when a ProxyCommand (other than none) won the proxy slot. */
  proxyCommand?: string;
  userKnownHostsFile?: string;
  identitiesOnly?: boolean;
  connectTimeoutMs?: number;
}

/** Values used for %-token expansion; missing ones come from the OS / the config. */
export interface ExpandContext {
  home?: string;
  localUser?: string;
  /** Remote user/port actually used (the plan's), for %r / %p. */
  user?: string;
  port?: number;
}

/** Split the argument part of a line into words (quotes, backslash escapes, # comments). */
function splitArgs(s: string, line: number): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i] as string)) i++;
    if (i >= s.length || s[i] === '#') break;
    let word = '';
    let quote: string | null = null;
    for (; i < s.length; i++) {
      const c = s[i] as string;
      if (quote === null && /\s/.test(c)) break;
      if (c === '\\' && i + 1 < s.length && /["'\\\s]/.test(s[i + 1] as string)) {
        word += s[++i];
      } else if (quote !== null && c === quote) {
        quote = null;
      } else if (quote === null && (c === '"' || c === "'")) {
        quote = c;
      } else {
        word += c;
      }
    }
    if (quote !== null) throw new SshConfigError(line, 'unterminated quoted string');
    out.push(word);
  }
  return out;
}

const SINGLE_VALUED = new Set(['hostname', 'user', 'port', 'identityfile', 'proxyjump', 'identitiesonly', 'connecttimeout']);
const NEEDS_VALUE = new Set([...SINGLE_VALUED, 'userknownhostsfile', 'proxycommand']);

export function parseSshConfig(text: string): SshConfig {
  const blocks: SshConfigBlock[] = [{ patterns: ['*'], line: 0, options: [] }];
  const notes: string[] = [];
  let inMatch = false;
  text.split(/\r?\n/).forEach((raw, idx) => {
    const line = idx + 1;
    const m = /^\s*([^\s=#]+)\s*(?:=\s*)?(.*)$/.exec(raw);
    if (m === null) return; // blank, comment-only, or stray '='
    const keyword = (m[1] as string).toLowerCase();
    const args = splitArgs(m[2] as string, line);
    if (keyword === 'host') {
      if (args.length === 0) throw new SshConfigError(line, 'Host needs at least one pattern');
      inMatch = false;
      blocks.push({ patterns: args, line, options: [] });
      return;
    }
    if (keyword === 'match') {
      // Match criteria (exec, canonical, final, ...) are not evaluated: skip the whole block.
      inMatch = true;
      notes.push(`line ${line}: Match block skipped (not supported by zkroll)`);
      return;
    }
    if (inMatch) return;
    if (keyword === 'include') {
      notes.push(`line ${line}: Include skipped (not supported by zkroll)`);
      return;
    }
    if (args.length === 0 && NEEDS_VALUE.has(keyword)) throw new SshConfigError(line, `${m[1]} needs a value`);
    if (SINGLE_VALUED.has(keyword) && args.length > 1) throw new SshConfigError(line, `${m[1]}: garbage at end of line ("${args.slice(1).join(' ')}")`);
    (blocks[blocks.length - 1] as SshConfigBlock).options.push({ keyword, args, line });
  });
  return { blocks, notes };
}

/** Does a Host pattern list apply to this alias? */
export function hostPatternsMatch(patterns: readonly string[], alias: string): boolean {
  let positive = false;
  for (const p of patterns) {
    const negated = p.startsWith('!');
    if (!wildcardMatch(alias, negated ? p.slice(1) : p)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** Parse one `[ssh://][user@]host[:port]` jump spec (IPv6 in brackets). */
export function parseJumpHop(spec: string): JumpHop | null {
  const s = spec.startsWith('ssh://') ? spec.slice(6) : spec;
  const at = s.lastIndexOf('@');
  const user = at >= 0 ? s.slice(0, at) : undefined;
  const rest = at >= 0 ? s.slice(at + 1) : s;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+))(?::(\d{1,5}))?$/.exec(rest);
  if (m === null || user === '' || (user !== undefined && /[\s/:]/.test(user))) return null;
  const hop: JumpHop = { host: (m[1] ?? m[2]) as string };
  if (user !== undefined) hop.user = user;
  if (m[3] !== undefined) {
    const port = Number(m[3]);
    if (port < 1 || port > 65535) return null;
    hop.port = port;
  }
  return hop;
}

/** Parse a comma-separated jump list (ProxyJump / plan jumpHost); throws on a bad hop. */
export function parseJumpList(value: string): JumpHop[] {
  return value.split(',').map((part) => {
    const hop = parseJumpHop(part.trim());
    if (hop === null) throw new Error(`bad jump host "${part.trim()}": expected [user@]host[:port]`);
    return hop;
  });
}

export function formatJumpHop(h: JumpHop, defaults: { user?: string; port?: number } = {}): string {
  const user = h.user ?? defaults.user;
  const port = h.port ?? defaults.port;
  const host = h.host.includes(':') ? `[${h.host}]` : h.host;
  return `${user !== undefined ? `${user}@` : ''}${host}${port !== undefined ? `:${port}` : ''}`;
}

function localUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env['USER'] ?? process.env['LOGNAME'] ?? '';
  }
}

function expand(value: string, tokens: Record<string, string>, what: string, line: number, home?: string): string {
  let v = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c !== '%') {
      v += c;
      continue;
    }
    const t = value[++i];
    const r = t === undefined ? undefined : tokens[t];
    if (r === undefined) throw new SshConfigError(line, `${what}: unsupported token %${t ?? ''} in "${value}"`);
    v += r;
  }
  if (home !== undefined) {
    if (v === '~') v = home;
    else if (v.startsWith('~/')) v = path.join(home, v.slice(2));
    else if (v.startsWith('~')) throw new SshConfigError(line, `${what}: ~user paths are not supported ("${value}")`);
  }
  return v;
}

function yesNo(o: SshConfigOption, what: string): boolean {
  const v = (o.args[0] as string).toLowerCase();
  if (v === 'yes' || v === 'true') return true;
  if (v === 'no' || v === 'false') return false;
  throw new SshConfigError(o.line, `${what}: expected yes or no, got "${o.args[0]}"`);
}

function integer(o: SshConfigOption, what: string, min: number, max: number): number {
  const s = o.args[0] as string;
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < min || n > max) throw new SshConfigError(o.line, `${what}: expected a number ${min}..${max}, got "${s}"`);
  return n;
}

/**
 * The options that apply to `alias` (the name as given, before HostName), merged
 * first-value-wins. Throws SshConfigError for a bad value of an applicable option.
 */
export function resolveHost(cfg: SshConfig, alias: string, ctx: ExpandContext = {}): ResolvedSshHost {
  const first = new Map<string, SshConfigOption>();
  const identity: SshConfigOption[] = [];
  for (const b of cfg.blocks) {
    if (!hostPatternsMatch(b.patterns, alias)) continue;
    for (const o of b.options) {
      if (o.keyword === 'identityfile') identity.push(o);
      else {
        const slot = o.keyword === 'proxycommand' ? 'proxyjump' : o.keyword;
        if (!first.has(slot)) first.set(slot, o);
      }
    }
  }
  const r: ResolvedSshHost = { alias, identityFiles: [] };
  const get = (k: string): SshConfigOption | undefined => first.get(k);

  const hn = get('hostname');
  if (hn !== undefined) r.hostName = expand(hn.args[0] as string, { '%': '%', h: alias }, 'HostName', hn.line);
  const user = get('user');
  if (user !== undefined) r.user = user.args[0] as string;
  const port = get('port');
  if (port !== undefined) r.port = integer(port, 'Port', 1, 65535);

  const home = ctx.home ?? os.homedir();
  const tokens: Record<string, string> = {
    '%': '%',
    h: r.hostName ?? alias,
    n: alias,
    p: String(ctx.port ?? r.port ?? 22),
    r: ctx.user ?? r.user ?? ctx.localUser ?? localUser(),
    u: ctx.localUser ?? localUser(),
    d: home,
  };
  for (const o of identity) r.identityFiles.push(expand(o.args[0] as string, tokens, 'IdentityFile', o.line, home));
  const khf = get('userknownhostsfile');
  if (khf !== undefined) r.userKnownHostsFile = expand(khf.args[0] as string, tokens, 'UserKnownHostsFile', khf.line, home);

  const proxy = get('proxyjump');
  if (proxy !== undefined) {
    const v = proxy.args.join(' ');
    if (v.toLowerCase() === 'none') r.proxyJump = [];
    else if (proxy.keyword === 'proxycommand') r.proxyCommand = v;
    else {
      try {
        r.proxyJump = parseJumpList(v);
      } catch (e) {
        throw new SshConfigError(proxy.line, `ProxyJump: ${(e as Error).message}`);
      }
    }
  }
  const io = get('identitiesonly');
  if (io !== undefined) r.identitiesOnly = yesNo(io, 'IdentitiesOnly');
  const ct = get('connecttimeout');
  if (ct !== undefined) r.connectTimeoutMs = integer(ct, 'ConnectTimeout', 0, 86_400) * 1000;
  return r;
}
