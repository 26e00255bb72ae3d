export { runAction } from './run-action.js';
export { runArray } from './run-array.js';
