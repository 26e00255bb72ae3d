// The spec's `containers` (spec/containers.ts): what is refused, with the field named; how the
// action's cpu and memory are shared among its containers; where each container's logs are stored.
import { describe, expect, it } from 'vitest';
import { checkActionSpec, parseActionSpec, specProblems } from '../../spec/action.js';
import { memberLimits } from '../../spec/containers.js';
import { containerLogKeys, logKeys } from '../../activities/collect/collect.js';

const image = 'r.example/tool:1';
const problemsOf = (spec: unknown) => {
  const checked = checkActionSpec(spec);
  return checked.success ? [] : specProblems(checked.error).map((p) => `${p.path}: ${p.message}`);
};

describe('spec.containers', () => {
  it('a spec without containers means what it meant: nothing is added to it', () => {
    expect(parseActionSpec({ image })).not.toHaveProperty('containers');
  });

  it('each container defaults to a sidecar; the top-level image stays the main one', () => {
    const spec = parseActionSpec({ image, containers: { db: { image: 'r.example/db:2' } } });
    expect(spec.image).toBe(image);
    expect(spec.containers).toEqual({ db: { image: 'r.example/db:2', role: 'sidecar', resources: {} } });
  });

  it("refuses a bad container by its field's path", () => {
    expect(problemsOf({ image, containers: { db: { image: 'not an image' } } })).toEqual([
      'containers.db.image: not an image reference: use "registry/repository:tag" or "registry/repository@sha256:…"',
    ]);
    expect(problemsOf({ image, containers: { db: { image, role: 'boss' } } })).toEqual([
      expect.stringMatching(/^containers\.db\.role: /),
    ]);
    expect(problemsOf({ image, containers: { db: { image, env: { ACTION_ID: 'x' } } } })).toEqual([
      expect.stringMatching(/^containers\.db\.env\.ACTION_ID: reserved/),
    ]);
  });

  it('refuses names that are not DNS labels, "main", and more than 8 containers', () => {
    expect(problemsOf({ image, containers: { Db_1: { image } } })).toEqual([
      expect.stringMatching(/^containers\.Db_1: a container name is 1-32 lowercase/),
    ]);
    expect(problemsOf({ image, containers: { main: { image } } })).toEqual([
      'containers.main: "main" is the top-level image and command',
    ]);
    const nine = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`c${i}`, { image }]));
    expect(problemsOf({ image, containers: nine })).toEqual(['containers: at most 8 containers']);
  });

  it("bounds the containers' cpu and memory by the action's", () => {
    expect(problemsOf({ image, containers: { db: { image, resources: { memory: '64Mi' } } } })).toEqual([
      'containers.db.resources.memory: set resources.memory of the action too: it bounds what its containers use together',
    ]);
    expect(problemsOf({ image, resources: { cpu: 1 }, containers: { db: { image, resources: { cpu: 2 } } } })).toEqual([
      "containers.db.resources.cpu: more than the action's resources.cpu",
      expect.stringMatching(/^resources\.cpu: the containers running together/),
    ]);
    // An init container runs alone: it may take all of the action's.
    expect(
      problemsOf({
        image,
        resources: { memory: '64Mi' },
        containers: { i: { image, role: 'init', resources: { memory: '64Mi' } } },
      }),
    ).toEqual([]);
  });
});

describe("the action's cpu and memory among its containers", () => {
  it('each running together gets its own, the rest is shared equally; an init container gets all', () => {
    const spec = parseActionSpec({
      image,
      resources: { cpu: 2, memory: '300Mi' },
      containers: {
        prep: { image, role: 'init' },
        db: { image, resources: { cpu: 1, memory: '100Mi' } },
        web: { image },
      },
    });
    expect(memberLimits(spec)).toEqual({
      main: { cpu: 0.5, memory: 100 * 2 ** 20 },
      prep: { cpu: 2, memory: 300 * 2 ** 20 },
      db: { cpu: 1, memory: 100 * 2 ** 20 },
      web: { cpu: 0.5, memory: 100 * 2 ** 20 },
    });
  });

  it("without the action's limits nobody is bounded by them", () => {
    const spec = parseActionSpec({ image, containers: { web: { image } } });
    expect(memberLimits(spec)).toEqual({ main: {}, web: {} });
  });
});

describe("each container's logs", () => {
  it("the main one's where a lone container's go; the others' in a folder of their name", () => {
    expect(containerLogKeys('b/a1', 'main')).toEqual(logKeys('b/a1'));
    expect(containerLogKeys('b/a1', 'main', 2)).toEqual(logKeys('b/a1', 2));
    expect(containerLogKeys('b/a1', 'db')).toEqual({
      stdout: 'b/a1/logs/db/stdout.log',
      stderr: 'b/a1/logs/db/stderr.log',
    });
    expect(containerLogKeys('b/a1', 'db', 1).stdout).toBe('b/a1/logs/attempt-1/db/stdout.log');
  });
});
