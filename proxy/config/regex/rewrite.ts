/**
 * RE2 rewrite strings (regex_rewrite.substitution): `\0`..`\9` name groups, `\\` is a backslash,
 * any other backslash is an error, as RE2::CheckRewriteString says. Returns the equivalent JS
 * replacement string (`$&`, two-digit `$0N`, `$$`) or the reason it is invalid.
 */
export function translateRe2Rewrite(
  substitution: string,
  groupCount: number,
): { ok: true; replacement: string } | { ok: false; error: string } {
  let out = '';
  for (let i = 0; i < substitution.length; i++) {
    const c = substitution[i];
    if (c === '$') {
      out += '$$';
    } else if (c === '\\') {
      const n = substitution[++i];
      if (n === '\\') out += '\\';
      else if (n !== undefined && n >= '0' && n <= '9') {
        const g = Number(n);
        if (g > groupCount) {
          return {
            ok: false,
            error: `rewrite refers to group \\${g} but the pattern has ${groupCount} groups`,
          };
        }
        out += g === 0 ? '$&' : `$0${g}`;
      } else {
        return {
          ok: false,
          error: `invalid rewrite: backslash must be followed by a digit or \\, got \\${n ?? ''}`,
        };
      }
    } else {
      out += c;
    }
  }
  return { ok: true, replacement: out };
}
