export * from './types.js';
export { compilePolicy, decide, decideAll, describeRule, unmatchedWhy, type Policy } from './policy.js';
export { normalizeHost, globToRegExp, globPitfall, hasGlobSyntax, hostPatternProblem } from './glob.js';
export { hostPatternMatcher } from './ip-literal.js';
