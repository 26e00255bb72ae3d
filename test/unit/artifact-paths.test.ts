// Downloads' local side: which paths from S3 keys may be written below a folder, and which files
// the download globs select.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { localPathInside, localPathProblem, UnsafeLocalPath } from '../../common/storage/local-target.js';
import { globMatcher, isGlob } from '../../common/text/glob.js';

describe('a path from an S3 key on the local disk', () => {
  it('lands below the folder when it is plain', () => {
    expect(localPathInside('/tmp/dl', 'a.txt')).toBe(join('/tmp/dl', 'a.txt'));
    expect(localPathInside('/tmp/dl', 'sub/deeper/b.bin')).toBe(join('/tmp/dl', 'sub/deeper/b.bin'));
    expect(localPathInside('/tmp/dl', '.../x')).toBe(join('/tmp/dl', '.../x'));
  });

  it.each([
    ['../escape', 'path with ".." refused'],
    ['sub/../../escape', 'path with ".." refused'],
    ['..\\escape', 'path with ".." refused'],
    ['/etc/passwd', 'absolute path refused'],
    ['\\\\server\\share', 'absolute path refused'],
    ['C:/Windows', 'absolute path refused'],
    ['a//b', 'path with "." or an empty part refused'],
    ['./a', 'path with "." or an empty part refused'],
    ['a\0b', 'path holds a NUL byte'],
    ['', 'empty path'],
  ])('refuses %j', (path, why) => {
    expect(localPathProblem(path)).toBe(why);
    expect(() => localPathInside('/tmp/dl', path)).toThrow(UnsafeLocalPath);
  });
});

describe('download globs', () => {
  it('keep "*" within one part and let "**" span any number', () => {
    const sub = globMatcher(['sub/**']);
    expect(['sub/b.bin', 'sub/x/y.bin'].every(sub)).toBe(true);
    expect(['a.txt', 'subway/b.bin'].some(sub)).toBe(false);
    const txt = globMatcher(['*.txt']);
    expect(txt('a.txt')).toBe(true);
    expect(txt('sub/a.txt')).toBe(false);
    expect(globMatcher(['**/*.txt'])('sub/deeper/a.txt')).toBe(true);
    expect(globMatcher(['**/*.txt'])('a.txt')).toBe(true);
    expect(globMatcher(['file-?.[ab]in'])('file-1.bin')).toBe(true);
    expect(globMatcher(['file-?.[!b]in'])('file-1.bin')).toBe(false);
    expect(globMatcher(['a+b.(1).txt'])('a+b.(1).txt')).toBe(true);
  });

  it('select every path when there are none, and tell a pattern from a path', () => {
    expect(globMatcher([])('anything/at/all')).toBe(true);
    expect(isGlob('sub/**')).toBe(true);
    expect(isGlob('sub/b.bin')).toBe(false);
  });
});
