// Glob patterns over "/"-separated paths, as the artifact downloads take them: "*" and "?" stay
// within one part, "**" spans any number of parts (none included), "[abc]" is one of a set.
// Written here rather than taken from node:path, whose matchesGlob is still experimental on Node 20.

/** Whether `text` holds a glob character, so that it is a pattern rather than a plain path. */
export function isGlob(text: string): boolean {
  return /[*?[]/.test(text);
}

function partSource(part: string): string {
  let source = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 2);
      if (end < 0) source += '\\[';
      else {
        const set = part.slice(i + 1, end).replace(/\\/g, '\\\\');
        source += set.startsWith('!') ? `[^/${set.slice(1)}]` : `[${set}]`;
        i = end;
      }
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return source;
}

/** A pattern as a regular expression over a whole path. */
function globRegExp(pattern: string): RegExp {
  const parts = pattern.split('/');
  let source = '';
  parts.forEach((part, i) => {
    const last = i === parts.length - 1;
    if (part === '**') source += last ? '.*' : '(?:[^/]+/)*';
    else source += partSource(part) + (last ? '' : '/');
  });
  return new RegExp(`^${source}$`);
}

/** A test of paths against any of `patterns`; no patterns match every path. */
export function globMatcher(patterns: readonly string[]): (path: string) => boolean {
  if (!patterns.length) return () => true;
  const expressions = patterns.map(globRegExp);
  return (path) => expressions.some((e) => e.test(path));
}
