/**
 * Header names and values that come from config end up verbatim on the wire, so a CR or LF in one
 * would let config inject headers or split a response. Names must be RFC 9110 tokens (lower-cased
 * by remora), values must not hold CR, LF or NUL (RFC 9110 §5.5).
 */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

/** Returns a reason when `name` is not a valid header name, or null. Pseudo-headers allowed when asked. */
export function headerNameProblem(name: string, allowPseudo = false): string | null {
  if (name.length === 0) return 'header name is empty';
  const bare = allowPseudo && name.startsWith(':') ? name.slice(1) : name;
  if (!TOKEN.test(bare)) return `header name ${JSON.stringify(name)} is not a valid token (RFC 9110)`;
  return null;
}

export function headerValueProblem(value: string): string | null {
  if (BAD_VALUE.test(value)) return 'header value must not contain CR, LF or NUL';
  return null;
}
