// Custom search attributes: registered by scripts/dev-env, and by operators on production clusters
// (see README), so that `ActionStatus = 'FAILED'` filters in the Temporal UI and in `caisson list`.
import { defineSearchAttributeKey } from '@temporalio/common';

export const ActionStatusKey = defineSearchAttributeKey('ActionStatus', 'KEYWORD');
export const ActionImageKey = defineSearchAttributeKey('ActionImage', 'KEYWORD');
export const ActionExitCodeKey = defineSearchAttributeKey('ActionExitCode', 'INT');
export const ActionHostKey = defineSearchAttributeKey('ActionHost', 'KEYWORD');
export const ActionSourceKey = defineSearchAttributeKey('ActionSource', 'KEYWORD');
export const ActionTemplateKey = defineSearchAttributeKey('ActionTemplate', 'KEYWORD');
export const ActionScheduleKey = defineSearchAttributeKey('ActionSchedule', 'KEYWORD');
/** The action's labels, one "name=value" each (spec/labels.ts labelPairs): `ActionLabels = 'team=vision'`. */
export const ActionLabelsKey = defineSearchAttributeKey('ActionLabels', 'KEYWORD_LIST');
