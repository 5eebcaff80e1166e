// Shell quoting for every argument that crosses the SSH boundary.
//
// Invariants:
//  - shq(x) is a single POSIX sh word that expands to exactly x (no globbing,
//    no parameter/command/tilde expansion, no field splitting, no comments).
//  - Simple safe words (paths, --flag=value, dotted names) are left bare for
//    readable audit logs; anything else is wrapped in single quotes with
//    embedded ' written as '\''.
//  - A word that would parse as a variable assignment (NAME=...) is always
//    quoted, so it stays a command argument even in command position.
//  - NUL bytes cannot be passed through argv or sh -c; they are rejected.

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Quote one argument for POSIX sh. */
export function shq(arg: string): string {
  if (arg.includes('\0')) {
    throw new Error('shell argument contains a NUL byte, which cannot be passed to a remote command');
  }
  if (arg !== '' && SAFE_WORD.test(arg) && !ASSIGNMENT.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Join argv into one sh command line; every element is quoted with shq. */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('shellCommand: empty argv');
  return argv.map(shq).join(' ');
}
