// The host's own path checks (contained-path.ts): whatever a request says, a path it joins stays
// strictly inside its root. Pure functions, no I/O.
import { describe, expect, it } from 'vitest';
import { belowDir, entryOf, insideRoot, PathOutsideRoot } from '../../activities/trust/contained-path.js';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (err instanceof PathOutsideRoot) return err.why;
    throw err;
  }
  return undefined;
};

describe('insideRoot', () => {
  it('joins plain parts under the root, resolved', () => {
    expect(insideRoot('/srv/root', 'a', 'b c', 'd\ne')).toBe('/srv/root/a/b c/d\ne');
    expect(insideRoot('/srv/root/', 'a/./b')).toBe('/srv/root/a/b');
    expect(insideRoot('/srv/root', '..x')).toBe('/srv/root/..x');
  });

  it('refuses "..", absolute parts, NUL and the root itself', () => {
    expect(refusal(() => insideRoot('/srv/root', '..'))).toBe('leads outside its root');
    expect(refusal(() => insideRoot('/srv/root', 'a/../../etc/passwd'))).toBe('leads outside its root');
    expect(refusal(() => insideRoot('/srv/root', '../root-sibling/x'))).toBe('leads outside its root');
    expect(refusal(() => insideRoot('/srv/root', '/etc/passwd'))).toBe('is absolute');
    expect(refusal(() => insideRoot('/srv/root', 'a', '/etc'))).toBe('is absolute');
    expect(refusal(() => insideRoot('/srv/root', 'a\0b'))).toBe('contains a NUL character');
    expect(refusal(() => insideRoot('/srv/root', ''))).toBe('leads outside its root');
    expect(refusal(() => insideRoot('/srv/root', 'a/..'))).toBe('leads outside its root');
  });
});

describe('entryOf', () => {
  it('takes one name, spaces and newlines included, and nothing with "/" or that is not a name', () => {
    expect(entryOf('/d', 'caisson-r 1\n-1-h')).toBe('/d/caisson-r 1\n-1-h');
    expect(refusal(() => entryOf('/d', 'a/b'))).toMatch(/single name/);
    expect(refusal(() => entryOf('/d', 'x/../../etc'))).toMatch(/single name/);
    expect(refusal(() => entryOf('/d', '..'))).toBe('leads outside its root');
    expect(refusal(() => entryOf('/d', '.'))).toBe('leads outside its root');
    expect(refusal(() => entryOf('/d', ''))).toBe('leads outside its root');
    expect(refusal(() => entryOf('/d', 'a\0'))).toBe('contains a NUL character');
  });
});

describe('belowDir', () => {
  it('gives the part below a container folder, every part a plain name', () => {
    expect(belowDir('/in', '/in/a/b c.txt')).toBe('a/b c.txt');
    expect(belowDir('/', '/etc/app.conf')).toBe('etc/app.conf');
    expect(belowDir('/in', '/in/ ..')).toBe(' ..'); // a name, not ".." (what the container sees too)
  });

  it('refuses "..", ".", empty parts, relative paths, NUL, the folder itself and paths beside it', () => {
    expect(refusal(() => belowDir('/in', '/in/../etc/passwd'))).toMatch(/"\.\." part/);
    expect(refusal(() => belowDir('/in', '/in/a/..'))).toMatch(/"\.\." part/);
    expect(refusal(() => belowDir('/in', '/in/./a'))).toMatch(/"\." or/);
    expect(refusal(() => belowDir('/in', '/in//a'))).toMatch(/empty/);
    expect(refusal(() => belowDir('/in', '/in/a/'))).toMatch(/empty/);
    expect(refusal(() => belowDir('/in', 'in/a'))).toMatch(/not an absolute path/);
    expect(refusal(() => belowDir('/in', '/in/a\0b'))).toBe('contains a NUL character');
    expect(refusal(() => belowDir('/in', '/in'))).toBe('is not a path below /in');
    expect(refusal(() => belowDir('/in', '/in/'))).toBe('is not a path below /in');
    expect(refusal(() => belowDir('/in', '/inside/x'))).toBe('is not a path below /in');
    expect(refusal(() => belowDir('/in', '/etc/x'))).toBe('is not a path below /in');
    expect(refusal(() => belowDir('/', '/'))).toBe('is not a path below /');
    expect(refusal(() => belowDir('/', '//etc'))).toMatch(/empty/);
    expect(refusal(() => belowDir('/', '/../../etc/cron.d/x'))).toMatch(/"\.\." part/);
  });
});
