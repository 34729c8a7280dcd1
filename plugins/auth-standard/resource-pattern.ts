/**
 * Resource patterns use the topic wildcards: tokens separated by `.`, `*` matches exactly one
 * token, `>` (last token only) matches one or more remaining tokens. Matching walks both strings in
 * place so a cache miss on the authorization path allocates nothing.
 */

/** Why a pattern is malformed, or undefined when it is fine. */
export function patternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'must not be empty';
  const tokens = pattern.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.length === 0) return 'must not contain empty tokens (leading, trailing or doubled ".")';
    if (token === '>' && i !== tokens.length - 1) return '">" may only be the last token';
    if (token.length > 1 && (token.includes('*') || token.includes('>'))) {
      return `wildcards must be whole tokens (got "${token}")`;
    }
  }
  return undefined;
}

/** True when `resource` matches `pattern` (the pattern assumed well-formed; see `patternProblem`). */
export function matchesPattern(pattern: string, resource: string): boolean {
  const patternLength = pattern.length;
  const resourceLength = resource.length;
  let p = 0;
  let r = 0;
  for (;;) {
    let patternEnd = pattern.indexOf('.', p);
    if (patternEnd === -1) patternEnd = patternLength;
    let resourceEnd = resource.indexOf('.', r);
    if (resourceEnd === -1) resourceEnd = resourceLength;
    const tokenLength = patternEnd - p;
    const wildcard = tokenLength === 1 ? pattern.charCodeAt(p) : 0;
    if (resourceEnd === r) return false; // empty resource token: never matches anything
    if (wildcard === 62 /* > */) return true;
    if (wildcard !== 42 /* * */) {
      if (tokenLength !== resourceEnd - r) return false;
      for (let i = 0; i < tokenLength; i++) {
        if (pattern.charCodeAt(p + i) !== resource.charCodeAt(r + i)) return false;
      }
    }
    const patternDone = patternEnd === patternLength;
    const resourceDone = resourceEnd === resourceLength;
    if (patternDone || resourceDone) return patternDone && resourceDone;
    p = patternEnd + 1;
    r = resourceEnd + 1;
  }
}
