/** A pattern RE2 would refuse; the message is the reason, reported with the pattern by translateRe2. */
export class Re2SyntaxError extends Error {}
