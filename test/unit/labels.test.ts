// An action's labels and annotations: the shared rules, the spec's bounds, the visibility query that
// finds actions by label, and how the Action's inputs and interLink's pods give them.
import * as core from '@actions/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidSpecError, LIMITS, checkActionSpec, parseActionSpec, specProblems } from '../../spec/action.js';
import { labelPairs, labelsFromPairs } from '../../spec/labels.js';
import { labelsQuery, quoteValue } from '../../client/visibility-query.js';
import { parseAnnotationText, parseLabelList } from '../../common/text/text-inputs.js';
import { InputError, readInputs } from '../../action/inputs.js';
import { podAction } from '../../interlink/pod-actions.js';
import { CreateRequest, RequestProblems, parseBody } from '../../interlink/requests.js';

const image = '127.0.0.1:5000/caisson/busybox:1';
const problemsOf = (spec: unknown) => {
  const checked = checkActionSpec(spec);
  return checked.success ? [] : specProblems(checked.error);
};

describe('labels and annotations in the spec', () => {
  it('keeps labels and annotations as given', () => {
    const spec = parseActionSpec({
      image,
      labels: { team: 'vision', 'app.kubernetes.io/name': 'train' },
      annotations: { note: 'retrained after the 3 Dec data fix, see #412', 'example.com/owner': '' },
    });
    expect(spec.labels).toEqual({ team: 'vision', 'app.kubernetes.io/name': 'train' });
    expect(spec.annotations).toEqual({ note: 'retrained after the 3 Dec data fix, see #412', 'example.com/owner': '' });
  });

  it('names each label that breaks the rules, with the rule, as host labels are checked', () => {
    const problems = problemsOf({
      image,
      labels: { 'bad name': 'x', team: 'has space', empty: '' },
      placement: { require: { '-zone': 'a' } },
    });
    expect(problems.map((p) => p.path)).toEqual([
      'placement.require.-zone',
      'labels.bad name',
      'labels.team',
      'labels.empty',
    ]);
    expect(problems[0]!.message).toMatch(/^a label name is 1-63 letters/);
    expect(problems[1]!.message).toMatch(/^a label name is 1-63 letters/);
    expect(problems[2]!.message).toMatch(/^a label value is 1-63 letters/);
  });

  it('bounds the number of labels and what they take as one search attribute value', () => {
    const many = Object.fromEntries(Array.from({ length: LIMITS.labels + 1 }, (_, i) => [`l${i}`, 'v']));
    expect(problemsOf({ image, labels: many })).toEqual([
      { path: 'labels', message: `at most ${LIMITS.labels} labels` },
    ]);
    const long = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`${'n'.repeat(60)}${i}`, 'v'.repeat(60)]));
    expect(problemsOf({ image, labels: long })).toEqual([
      { path: 'labels', message: expect.stringMatching(/more than 2000 bytes \(the limit of one search attribute\)/) },
    ]);
  });

  it('bounds annotations in number and in bytes, and takes only text', () => {
    expect(problemsOf({ image, annotations: { note: 'x'.repeat(256 << 10) } })[0]!.message).toMatch(
      /^annotations hold more than 262144 bytes/,
    );
    const many = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`a${i}`, '']));
    expect(problemsOf({ image, annotations: many })[0]!.message).toBe('at most 256 annotations');
    expect(problemsOf({ image, annotations: { n: 5, '/x': 'y' } })).toEqual([
      { path: 'annotations.n', message: 'an annotation value is a string' },
      { path: 'annotations./x', message: expect.stringMatching(/^an annotation name is 1-253/) },
    ]);
  });

  it('writes labels as sorted "name=value" pairs and reads them back', () => {
    const pairs = labelPairs({ team: 'vision', exp: '42', 'a.b/c': 'd' });
    expect(pairs).toEqual(['a.b/c=d', 'exp=42', 'team=vision']);
    expect(labelsFromPairs(pairs)).toEqual({ team: 'vision', exp: '42', 'a.b/c': 'd' });
  });
});

describe('the visibility query for labels', () => {
  it('asks for every label, each as one quoted name=value', () => {
    expect(labelsQuery({ team: 'vision', exp: '42' })).toBe("ActionLabels = 'exp=42' AND ActionLabels = 'team=vision'");
    expect(labelsQuery({})).toBe('');
  });

  it('refuses a label that no action can carry, naming it, instead of building a query around it', () => {
    let error: unknown;
    try {
      labelsQuery({ team: "x' OR WorkflowType = 'y" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidSpecError);
    expect((error as InvalidSpecError).problems).toEqual([
      { path: 'labels.team', message: expect.stringMatching(/^a label value is/) },
    ]);
  });

  it('quotes any value as one string literal', () => {
    expect(quoteValue("it's")).toBe("'it\\'s'");
    expect(quoteValue("a\\' OR 1=1")).toBe("'a\\\\\\' OR 1=1'");
  });
});

describe('labels and annotations written as text', () => {
  it('reads labels as a comma list or one per line', () => {
    expect(parseLabelList('team=vision,exp=42')).toEqual({ team: 'vision', exp: '42' });
    expect(parseLabelList('team=vision\n exp=42 \n\n')).toEqual({ team: 'vision', exp: '42' });
    expect(() => parseLabelList('team')).toThrow('"team": write KEY=VALUE');
  });

  it('reads annotations as lines, or as a YAML or JSON map', () => {
    expect(parseAnnotationText('note=a, b: c\nowner=me', 'annotations')).toEqual({ note: 'a, b: c', owner: 'me' });
    expect(parseAnnotationText('note: "a=b, c"\nrun: 42', 'annotations')).toEqual({ note: 'a=b, c', run: '42' });
    expect(parseAnnotationText('{"note": "x"}', 'annotations')).toEqual({ note: 'x' });
    expect(() => parseAnnotationText('note: [1]', 'annotations')).toThrow('note: an annotation is text');
    expect(() => parseAnnotationText('just words', 'annotations')).toThrow(/a YAML or JSON map/);
  });
});

describe("the GitHub Action's labels and annotations inputs", () => {
  const github = { GITHUB_REPOSITORY: 'org/repo', GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '1', GITHUB_JOB: 'j' };
  const given = (inputs: Record<string, string>) => {
    for (const name of Object.keys(process.env)) if (name.startsWith('INPUT_')) vi.stubEnv(name, undefined);
    for (const [name, value] of Object.entries(inputs)) vi.stubEnv(`INPUT_${name.toUpperCase()}`, value);
    return core;
  };
  afterEach(() => vi.unstubAllEnvs());

  it('puts them in the spec', () => {
    const { spec } = readInputs(given({ image, labels: 'team=vision, exp=42', annotations: 'note: trial' }), github);
    expect(spec).toMatchObject({ labels: { team: 'vision', exp: '42' }, annotations: { note: 'trial' } });
  });

  it('names the input of a bad label', () => {
    let error: unknown;
    try {
      readInputs(given({ image, labels: 'team=-x' }), github);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problems).toEqual([
      { input: 'labels', message: expect.stringMatching(/^a label value is 1-63 letters/) },
    ]);
  });
});

describe("interLink pods' labels and annotations", () => {
  const pod = (metadata: Record<string, unknown>) =>
    parseBody(CreateRequest, {
      pod: {
        metadata: { name: 'p', namespace: 'ns', uid: 'u-1', ...metadata },
        spec: { containers: [{ name: 'c', image }] },
      },
      container: [],
    });

  it("give each container's action the pod's labels and its owner's annotations", () => {
    const action = podAction(
      pod({
        labels: { team: 'vision', 'app.kubernetes.io/name': 'train' },
        annotations: {
          note: 'first try',
          'interlink.eu/pod-ip': '',
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
        },
      }),
      'pod-',
    );
    expect(action!.spec).toMatchObject({
      labels: { team: 'vision', 'app.kubernetes.io/name': 'train' },
      annotations: { note: 'first try' },
    });
  });

  it('refuse a label that breaks the rules, naming it, rather than drop it', () => {
    let error: unknown;
    try {
      podAction(pod({ labels: { team: 'vision', 'bad name': 'x' } }), 'pod-');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RequestProblems);
    expect((error as RequestProblems).problems).toEqual([
      {
        loc: ['body', 'pod', 'metadata', 'labels', 'bad name'],
        msg: expect.stringMatching(/^a label name is 1-63 letters/),
        type: 'value_error',
      },
    ]);
  });
});
