/** The longest delay Node's timers honour, in whole seconds (2^31 - 1 ms); longer ones fire at once. */
export const MAX_TIMER_SECONDS = 2_147_483;

/** The longest session lifetime, in seconds: browsers cap cookie lifetimes at 400 days (RFC 6265bis). */
export const MAX_AGE_LIMIT_SECONDS = 400 * 24 * 3600;
