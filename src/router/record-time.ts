let isoAt = -1;
let isoText = '';

/** The time as an ISO 8601 string, made once per millisecond (records of routed requests come thousands a second). */
export function isoNow(): string {
  const now = Date.now();
  if (now !== isoAt) {
    isoAt = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}
