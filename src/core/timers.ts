/** The longest delay Node's timers honour, in whole seconds (2^31 - 1 ms); longer ones fire at once. */
export const MAX_TIMER_SECONDS = 2_147_483;
