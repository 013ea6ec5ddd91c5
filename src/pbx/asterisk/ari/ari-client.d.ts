/** ari-client ships no types; this is the part callpilot touches, kept deliberately loose. */
declare module 'ari-client' {
  type Operation = (params?: Record<string, unknown>) => Promise<unknown>;
  export interface AriClient {
    [resource: string]: unknown;
    channels: Record<string, Operation>;
    bridges: Record<string, Operation>;
    asterisk: Record<string, Operation>;
    applications: Record<string, Operation>;
    endpoints: Record<string, Operation>;
  }
  export function connect(url: string, user: string, pass: string): Promise<AriClient>;
  const ari: { connect: typeof connect };
  export default ari;
}
