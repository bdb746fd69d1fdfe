const warned = new Set<string>();

/** Emits a process warning once per process (per code and text): they describe the configuration, not a request. */
export function warnOnce(code: string, message: string): void {
  if (warned.has(code + message)) return;
  warned.add(code + message);
  process.emitWarning(message, { code });
}
