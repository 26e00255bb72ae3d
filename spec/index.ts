// `caisson/spec`: the contract for services, as zod schemas (what the code validates with) and the
// types derived from them. The same contract as JSON Schema is in the package's schema/ folder.
export {
  ActionSpec,
  ActionId,
  checkActionSpec,
  parseActionSpec,
  specProblems,
  formatProblems,
  InvalidSpecError,
  LIMITS,
  MAX_INPUT_BYTES,
  type Action,
  type ActionSpecInput,
  type SpecProblem,
} from './action.js';
export {
  ActionResultSchema,
  ActionStatusSchema,
  EndReasonSchema,
  ArtifactSchema,
  StagedInputSchema,
  StepTimingSchema,
  type ActionResult,
  type ActionStatus,
  type Artifact,
  type EndReason,
  type Phase,
  type StagedInput,
  type StepTiming,
} from './result.js';
export {
  WORKFLOW_TYPE,
  RunActionInputSchema,
  FleetOptionsSchema,
  type RunActionInput,
  type FleetOptions,
  type StatusView,
} from './workflow-api.js';
export {
  ARRAY_WORKFLOW_TYPE,
  ArrayOptions,
  ArrayMemberSchema,
  MAX_ARRAY_COUNT,
  type ArrayOptionsInput,
  type ArrayResult,
  type ArrayChild,
} from './array.js';
export { contractSchemas } from './json-schemas.js';
