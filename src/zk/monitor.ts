// One way to read a server's monitor values (mntr), whatever its version allows: the `mntr`
// four-letter word first, then the AdminServer's /commands/monitor when the word is not
// whitelisted (the 3.5+ default) or the client port does not answer it.
// Invariants: read-only; never throws — when neither source answers, says why both failed.
import { adminCommand, parseAdminMonitor } from './admin.js';
import { fourLetterWord, notWhitelisted, parseMntr } from './fourlw.js';

export type MonitorRead = { via: 'mntr' | 'admin'; values: Map<string, string> } | { via: null; why: string };

const msg = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function readMonitor(host: string, clientPort: number, adminPort: number, timeoutMs = 1500): Promise<MonitorRead> {
  let first: string;
  try {
    const text = await fourLetterWord(host, clientPort, 'mntr', timeoutMs);
    const values = parseMntr(text);
    if (notWhitelisted(text)) first = `'mntr' is not in 4lw.commands.whitelist of ${host}`;
    else if (values.size > 0) return { via: 'mntr', values };
    else first = `'mntr' on ${host}:${clientPort} answered ${JSON.stringify(text.trim().slice(0, 80))}`;
  } catch (e) {
    first = msg(e);
  }
  try {
    const values = parseAdminMonitor(await adminCommand(host, adminPort, 'monitor', timeoutMs));
    if (values.size > 0) return { via: 'admin', values };
    return { via: null, why: `${first}; AdminServer ${host}:${adminPort} answered no monitor values` };
  } catch (e) {
    return { via: null, why: `${first}; ${msg(e)}` };
  }
}
