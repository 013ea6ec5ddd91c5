/**
 * Number masking for campaign logs until src/core's maskNumber lands (sec-hardening): keeps the first 3 and last 4
 * digits, `+8613800138000` -> `+86*******8000`.
 */
export function maskNumber(value: string): string {
  const digits = value.replace(/\D/g, '');
  if (digits.length <= 7) return '*'.repeat(value.length);
  const plus = value.startsWith('+') ? '+' : '';
  return `${plus}${digits.slice(0, 3)}${'*'.repeat(digits.length - 7)}${digits.slice(-4)}`;
}
