// The lab's release cache: a tarball is unpacked once (keyed by its content), checked to be a
// ZooKeeper binary release of the version it is used for, and installed with its jars
// hard-linked. Small tarballs in the upstream layouts are made here with tar.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { installRelease, unpackedRelease } from '../../src/lab/releases.js';
import { LabError } from '../../src/lab/spec.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'zkroll-releases-test-'));

/** A tarball with a top directory `top` holding `files` (path → content). */
function tarball(name: string, top: string, files: Record<string, string>): string {
  const src = path.join(work, `src-${name}`);
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(src, top, p)), { recursive: true });
    fs.writeFileSync(path.join(src, top, p), c, { mode: p.endsWith('.sh') ? 0o755 : 0o644 });
  }
  const out = path.join(work, name);
  execFileSync('tar', ['-czf', out, '-C', src, top]);
  return out;
}

describe('lab releases', () => {
  after(() => fs.rmSync(work, { recursive: true, force: true }));
  const cache = path.join(work, 'cache');

  it('unpacks a 3.4-layout tarball once, and installs it with the jars hard-linked', () => {
    const t = tarball('zookeeper-3.4.6.tar.gz', 'zookeeper-3.4.6', {
      'bin/zkServer.sh': '#!/bin/sh\n',
      'zookeeper-3.4.6.jar': 'jar',
      'lib/log4j-1.2.17.jar': 'jar',
      'conf/log4j.properties': 'x=1\n',
    });
    const dir = unpackedRelease(t, '3.4.6', cache);
    assert.equal(fs.readFileSync(path.join(dir, 'conf', 'log4j.properties'), 'utf8'), 'x=1\n');
    const ino = fs.statSync(path.join(dir, 'bin', 'zkServer.sh')).ino;
    assert.equal(unpackedRelease(t, '3.4.6', cache), dir, 'the same cache entry');
    assert.equal(fs.statSync(path.join(dir, 'bin', 'zkServer.sh')).ino, ino, 'not unpacked again');
    const home = path.join(work, 'host', 'opt', 'zookeeper-3.4.6');
    installRelease(dir, home);
    assert.equal(fs.statSync(path.join(home, 'lib', 'log4j-1.2.17.jar')).ino, fs.statSync(path.join(dir, 'lib', 'log4j-1.2.17.jar')).ino, 'jar hard-linked');
    assert.notEqual(fs.statSync(path.join(home, 'conf', 'log4j.properties')).ino, fs.statSync(path.join(dir, 'conf', 'log4j.properties')).ino, 'conf copied');
    assert.equal(fs.statSync(path.join(home, 'bin', 'zkServer.sh')).mode & 0o777, 0o755);
  });

  it('accepts the 3.5+ layout (the server jar in lib/)', () => {
    const t = tarball('apache-zookeeper-3.9.3-bin.tar.gz', 'apache-zookeeper-3.9.3-bin', {
      'bin/zkServer.sh': '#!/bin/sh\n',
      'lib/zookeeper-3.9.3.jar': 'jar',
      'lib/zookeeper-jute-3.9.3.jar': 'jar',
    });
    assert.ok(fs.existsSync(path.join(unpackedRelease(t, '3.9.3', cache), 'lib', 'zookeeper-3.9.3.jar')));
  });

  it('refuses a tarball of another version, naming what it holds', () => {
    const t = tarball('wrong.tar.gz', 'zookeeper-3.4.13', { 'bin/zkServer.sh': '#!/bin/sh\n', 'zookeeper-3.4.13.jar': 'jar' });
    assert.throws(
      () => unpackedRelease(t, '3.4.6', cache),
      (e: unknown) => e instanceof LabError && /is not ZooKeeper 3\.4\.6: it holds zookeeper-3\.4\.13\.jar/.test(e.message),
    );
  });

  it('refuses a tarball that is not a binary release, and one that is not a tarball', () => {
    const src = tarball('apache-zookeeper-3.8.0.tar.gz', 'apache-zookeeper-3.8.0', { 'pom.xml': '<project/>' });
    assert.throws(() => unpackedRelease(src, '3.8.0', cache), /is not a ZooKeeper binary release \(no bin\/zkServer\.sh in it\)/);
    const junk = path.join(work, 'junk.tar.gz');
    fs.writeFileSync(junk, 'not a tarball');
    assert.throws(() => unpackedRelease(junk, '3.8.0', cache), /could not unpack .*junk\.tar\.gz/);
    assert.deepEqual(
      fs.readdirSync(cache).filter((d) => d.startsWith('.unpack-')),
      [],
      'no half-unpacked directory left',
    );
  });
});
