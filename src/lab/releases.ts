// The real ZooKeeper releases the lab installs: which upstream tarball serves each version
// (a plan's lab.installs, else a directory of tarballs: $ZKROLL_RELEASES, then lab.releases),
// a cache of each tarball unpacked once (keyed by its SHA-256, so `lab up` stays fast), and the
// copy of a cached release into a host's install home.
// Invariants: a version with no tarball is refused before anything starts, naming every file
// looked for; a tarball whose server jar is not the version it is used for is refused; the
// cache is only ever added to (written in a temp dir, renamed into place); installs hard-link
// the jars (read-only by nature) and copy every other file, so the install's own scripts and
// conf/ can be edited per host.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LabError } from './spec.js';

export interface ReleaseSources {
  /** Directories searched for a version's tarball, in order. */
  dirs: string[];
  /** Per version, an explicit tarball (wins over the directories). */
  installs: Record<string, string>;
}

/** The upstream file names of a version's binary tarball: 3.4 `zookeeper-<v>.tar.gz`, 3.5+ `apache-zookeeper-<v>-bin.tar.gz`. */
export function tarballNames(version: string): string[] {
  return [`apache-zookeeper-${version}-bin.tar.gz`, `zookeeper-${version}.tar.gz`, `zookeeper-${version}-bin.tar.gz`];
}

/** The tarball of `version`, or a LabError naming every path looked at. */
export function findTarball(version: string, src: ReleaseSources, exists: (p: string) => boolean = fs.existsSync): string {
  const explicit = src.installs[version];
  if (explicit !== undefined) {
    if (exists(explicit)) return explicit;
    throw new LabError(`lab: no tarball for ZooKeeper ${version}: ${explicit} (lab.installs["${version}"] in the plan) does not exist`);
  }
  const looked = src.dirs.flatMap((d) => tarballNames(version).map((n) => path.join(d, n)));
  const found = looked.find((p) => exists(p));
  if (found !== undefined) return found;
  if (looked.length === 0) {
    throw new LabError(
      `lab: no tarball for ZooKeeper ${version}: the plan names no releases directory. Set lab.releases (a directory of upstream tarballs) or lab.installs["${version}"] in the plan, or ZKROLL_RELEASES`,
    );
  }
  throw new LabError(
    `lab: no tarball for ZooKeeper ${version}: looked for ${looked.join(', ')}. Put the upstream binary tarball there, or name it in lab.installs["${version}"]`,
  );
}

function sha256(file: string): string {
  try {
    return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  } catch (e) {
    throw new LabError(`lab: cannot read the tarball ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The server jar a release holds for `version`: 3.4 at the top (zookeeper-<v>.jar), 3.5+ in lib/. */
export function serverJar(dir: string, version: string): string | null {
  for (const p of [path.join(dir, `zookeeper-${version}.jar`), path.join(dir, 'lib', `zookeeper-${version}.jar`)]) if (fs.existsSync(p)) return p;
  return null;
}

/**
 * The unpacked release of `tarball` under `cacheRoot` (unpacked on first use). Throws LabError
 * when it is not a ZooKeeper binary release of `version` (no bin/zkServer.sh, or its server jar
 * is another version's).
 */
export function unpackedRelease(tarball: string, version: string, cacheRoot: string): string {
  const dir = path.join(cacheRoot, `${version}-${sha256(tarball).slice(0, 16)}`);
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(cacheRoot, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(cacheRoot, '.unpack-'));
    try {
      execFileSync('tar', ['-xzf', tarball, '-C', tmp, '--strip-components=1', '--no-same-owner'], { stdio: 'pipe' });
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      const err = (e as { stderr?: Buffer }).stderr?.toString().trim() ?? String(e);
      throw new LabError(`lab: could not unpack ${tarball}: ${err}`);
    }
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      // another lab up unpacked the same tarball meanwhile: keep theirs
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(dir)) throw e;
    }
  }
  if (!fs.existsSync(path.join(dir, 'bin', 'zkServer.sh'))) throw new LabError(`lab: ${tarball} is not a ZooKeeper binary release (no bin/zkServer.sh in it)`);
  if (serverJar(dir, version) === null) {
    const jars = [...fs.readdirSync(dir), ...(fs.existsSync(path.join(dir, 'lib')) ? fs.readdirSync(path.join(dir, 'lib')) : [])].filter(
      (n) => /^zookeeper-\d[^/]*\.jar$/.test(n) && !n.includes('jute'),
    );
    throw new LabError(`lab: ${tarball} is not ZooKeeper ${version}: it holds ${jars.join(', ') || 'no zookeeper-<version>.jar'}`);
  }
  return dir;
}

/** Copy the release at `from` to `to` (an install home): jars hard-linked, every other file copied. */
export function installRelease(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) installRelease(src, dst);
    else if (e.isSymbolicLink()) {
      fs.rmSync(dst, { force: true });
      fs.symlinkSync(fs.readlinkSync(src), dst);
    } else if (e.name.endsWith('.jar')) {
      fs.rmSync(dst, { force: true });
      try {
        fs.linkSync(src, dst);
      } catch {
        fs.copyFileSync(src, dst);
      }
    } else {
      fs.copyFileSync(src, dst);
      fs.chmodSync(dst, fs.statSync(src).mode & 0o7777);
    }
  }
}
