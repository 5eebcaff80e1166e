import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { shq, shellCommand } from '../../src/remote/quote.js';

/** Run `sh -c <script>` locally and return stdout. */
function sh(script: string): string {
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' });
}

const NASTY = [
  '',
  ' ',
  'a b',
  "it's",
  "''",
  "'",
  '"double"',
  '$HOME',
  '${PATH}',
  '$(id)',
  '`id`',
  'back\\slash',
  '\\\\',
  'new\nline',
  '\ttab',
  'semi;colon && rm -rf /',
  'glob * ? [a-z]',
  '~',
  '~root',
  '#comment',
  '-n',
  '--flag=x y',
  'FOO=bar',
  'unicode ✓ é 日本語 🦓',
  'mixed \'single\' "double" $var `cmd` \\ \n end',
  '!bang',
  'a|b>c<d&e',
  '{a,b}',
  '\r',
];

test('shq round-trips nasty strings through real sh -c printf', () => {
  for (const s of NASTY) {
    assert.equal(sh(`printf %s ${shq(s)}`), s, `round-trip of ${JSON.stringify(s)}`);
  }
});

test('shellCommand preserves every argv element through sh', () => {
  // printf '%s\0' prints each argument NUL-terminated, so boundaries are visible.
  const out = sh(shellCommand(['printf', '%s\\0', ...NASTY]));
  assert.deepEqual(out.split('\0').slice(0, -1), NASTY);
});

test('safe words stay unquoted', () => {
  for (const s of ['/opt/zk-3.4/bin/zkServer.sh', '--flag=x', 'a.b', 'start', 'zoo.cfg', '-p', '2181', 'user@host:/path', 'a,b', '+x', '50%']) {
    assert.equal(shq(s), s);
  }
});

test('unsafe words are quoted', () => {
  assert.equal(shq(''), "''");
  assert.equal(shq('a b'), "'a b'");
  assert.equal(shq("it's"), "'it'\\''s'");
  assert.equal(shq('~'), "'~'");
  assert.equal(shq('*'), "'*'");
  assert.equal(shq('$x'), "'$x'");
});

test('a NAME=value word is quoted so it is not an assignment in command position', () => {
  assert.equal(shq('FOO=bar'), "'FOO=bar'");
  assert.equal(shq('--x=1'), '--x=1');
  // As the command word, it must be looked up as a command, not assigned.
  assert.throws(() => execFileSync('sh', ['-c', shellCommand(['FOO=bar'])], { stdio: 'pipe' }));
});

test('NUL bytes and empty argv are rejected', () => {
  assert.throws(() => shq('a\0b'), /NUL/);
  assert.throws(() => shellCommand([]), /empty argv/);
});

test('quoting composes: a quoted command inside sh -c inside sh -c', () => {
  for (const s of NASTY) {
    const inner = shellCommand(['printf', '%s', s]);
    assert.equal(sh(`sh -c ${shq(inner)}`), s);
  }
});
